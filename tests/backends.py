"""Throwaway databases and Redis namespaces for one test run."""
import os
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

RUN_ID = uuid.uuid4().hex[:10]


def database_url(tmp_dir):
    """A fresh database for this run: a new MariaDB schema when TEST_DATABASE_URL is set."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_dir}/zarts-test.sqlite"
    url = make_url(base)
    name = f"zarts_test_{RUN_ID}"
    server = create_engine(url.set(database=None))
    with server.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    server.dispose()
    return url.set(database=name, query={**url.query, "charset": "utf8mb4"}).render_as_string(hide_password=False)


def drop_database(url):
    """Drop a throwaway MariaDB schema made by database_url()."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("mysql"):
        return
    server = create_engine(parsed.set(database=None))
    with server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
    server.dispose()


def redis_url():
    """TEST_REDIS_URL, or None (jobs then run in-process)."""
    return os.environ.get("TEST_REDIS_URL") or None


def clear_redis(url, prefix):
    """Delete every key this run's queues left behind."""
    from redis import Redis

    conn = Redis.from_url(url)
    keys = list(conn.scan_iter(f"*{prefix}*"))
    # RQ names a job's hash and a worker's hash by id only: find this run's by their queue names.
    for pattern, field in (("rq:job:*", "origin"), ("rq:worker:*", "queues")):
        names = list(conn.scan_iter(pattern))
        pipe = conn.pipeline()
        for name in names:
            pipe.hget(name, field)
        keys += [name for name, value in zip(names, pipe.execute()) if value and prefix.encode() in value]
    workers = [key for key in keys if key.startswith(b"rq:worker:")]
    if workers:
        conn.srem("rq:workers", *workers)
    queues = [name for name in conn.smembers("rq:queues") if prefix.encode() in name]
    if queues:
        conn.srem("rq:queues", *queues)
    if keys:
        conn.delete(*keys)
    conn.close()
