"""Pieces of bench/normalize.py: a throwaway backend, a realistic event mix, worker processes.

Talks to 127.0.0.1 only; close_bench() drops the schema zarts_bench_<run> and the run's Redis keys.
"""
import copy
import hashlib
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
PROVIDERS = ("stripe", "shopify", "github", "standard_webhooks")
HEADER_DEDUPED = ("shopify", "github", "standard_webhooks")  # any body may repeat under a new id
EVENT_TYPE_HEADERS = {"github": "X-GitHub-Event", "shopify": "X-Shopify-Topic"}
FINAL = ("normalized", "ignored", "dead_lettered", "resolved_manually")
EVENT_TABLES = ("integration_metric_values", "integration_sync_errors", "admin_tasks", "integration_raw_events",
                "event_webhook_events", "integration_normalized_events")
SECTION = "## Normalization (bench/normalize.py)"


@dataclass
class Bench:
    """One throwaway schema, the shared Redis under the run's own queue prefix, and an app for both."""

    database_url: str
    redis_url: str
    prefix: str
    env: dict
    app: object = None
    engine: object = None
    redis: object = None
    connections: dict = field(default_factory=dict)  # provider key -> (id, ingest path, secret, scheme)

    def enqueue(self, ids, size=200):
        """Hand events over as the outbox does (jobs of up to 200 ids), keeping the jobs for their timings."""
        from rq import Queue

        queue = Queue(f"{self.prefix}:default", connection=self.redis)
        with self.redis.pipeline() as pipe:
            job_ids = [queue.enqueue("zarts.jobs.normalize.normalize_events", ids[i:i + size], job_timeout=600,
                                     result_ttl=600, failure_ttl=600, pipeline=pipe).id
                       for i in range(0, len(ids), size)]
            pipe.execute()
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE event_webhook_events SET status = 'queued' WHERE status = 'received'"))
        return job_ids


def job_window(bench, job_ids):
    """Seconds from the first job's start to the last job's end (RQ's own timestamps)."""
    from rq.job import Job

    jobs = Job.fetch_many(job_ids, connection=bench.redis)
    assert all(j is not None and j.is_finished for j in jobs), "not every job finished"
    window = (max(j.ended_at for j in jobs) - min(j.started_at for j in jobs)).total_seconds()
    for job in jobs:
        job.delete()
    return window


def open_bench(mysql_url, redis_url):
    """Create and migrate zarts_bench_<run>, with one connection per shipped webhook provider."""
    from flask_migrate import upgrade
    from redis import Redis

    from zarts import create_app
    from zarts.extensions import db
    from zarts.services.setup import accounts, connections

    run_id = secrets.token_hex(4)
    base, name = make_url(mysql_url), f"zarts_bench_{run_id}"
    server = create_engine(base.set(database=None))
    with server.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    server.dispose()
    url = base.set(database=name, query={"charset": "utf8mb4"}).render_as_string(hide_password=False)
    config = {"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "ZARTS_QUEUE_PREFIX": f"zarts-bench-{run_id}",
              "SECRET_KEY": secrets.token_hex(32), "ZARTS_SECRETS_KEY": Fernet.generate_key().decode()}
    env = {**os.environ, "ZARTS_ENV": "development", "DATABASE_URL": url,
           **{k: v for k, v in config.items() if k != "SQLALCHEMY_DATABASE_URI"}}
    bench = Bench(url, redis_url, config["ZARTS_QUEUE_PREFIX"], env, create_app(config), create_engine(url),
                  Redis.from_url(redis_url))
    with bench.app.app_context():
        upgrade()
        client = accounts.create_client(f"Bench {run_id}")
        admin = accounts.create_user(f"bench-{run_id}@example.com", secrets.token_hex(12), "admin")
        db.session.flush()
        for key in PROVIDERS:
            connection, secret = connections.create_connection(key, client.slug, admin.email, "normalization bench")
            bench.connections[key] = (connection.id, connection.ingest_path, secret,
                                      connection.provider.signature_scheme)
        db.session.commit()
    return bench


def close_bench(bench):
    """Drop the schema and every Redis key of the run (queues, jobs, workers)."""
    from rq import Queue

    conn = bench.redis
    for name in ("default", "noop"):
        queue = Queue(f"{bench.prefix}:{name}", connection=conn)
        for registry in (queue.failed_job_registry, queue.started_job_registry):
            for job_id in registry.get_job_ids():
                conn.delete(f"rq:job:{job_id}")
        queue.delete(delete_jobs=True)
    keys = list(conn.scan_iter(f"*{bench.prefix}*"))
    if keys:
        conn.delete(*keys)
    for shared in ("rq:queues", "rq:workers"):
        stale = [m for m in conn.smembers(shared) if bench.prefix.encode() in m]
        if stale:
            conn.srem(shared, *stale)
    conn.close()
    bench.engine.dispose()
    with bench.app.app_context():
        from zarts.extensions import db

        db.engine.dispose()
    url = make_url(bench.database_url)
    server = create_engine(url.set(database=None, query={}))
    with server.begin() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS `{url.database}`"))
    server.dispose()


def reset_events(bench):
    """Empty the event and record tables, so each measurement starts alike."""
    with bench.engine.begin() as conn:
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for table in EVENT_TABLES:
            conn.execute(text(f"TRUNCATE TABLE `{table}`"))
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))


def _iso(k):
    return (datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=k)).isoformat()


def _vary(provider, event_type, p, obj, k):
    """Make the sample about provider object obj, in version k (a later k is newer)."""
    if provider == "stripe":
        thing = p["data"]["object"]
        thing["id"] = f"{thing['id'].split('_')[0]}_bench{obj}"
        p["created"] += k
    elif provider == "shopify":
        if event_type.startswith("refunds"):
            p["id"], p["processed_at"] = 9_000_000_000 + obj, _iso(k)
        else:
            p["id"], p["updated_at"] = 5_000_000_000 + obj, _iso(k)
    elif event_type == "push":
        p["after"] = f"{obj:040x}"
    elif event_type == "pull_request":
        p["number"] = p["pull_request"]["number"] = obj
        p["pull_request"]["updated_at"] = _iso(k)
    elif event_type == "release":
        p["release"]["tag_name"] = f"v1.{obj}"
    elif event_type == "lead.created":
        p["data"]["id"], p["data"]["updated_at"] = f"lead_bench{obj}", _iso(k)
    else:  # form.submitted
        p["data"]["lead_id"], p["data"]["id"] = f"lead_bench{obj}", f"sub_bench{k}"
    return p


def event_mix(n, seed, providers=PROVIDERS):
    """n (provider, event type, payload): shipped samples, about 60% distinct objects, 2% unmapped."""
    from zarts.providers import definition

    rng = random.Random(seed)
    objects = max(1, int(n * 0.6 / len(providers)))
    for k in range(n):
        provider = providers[k % len(providers)]
        samples = definition(provider)["samples"]
        event_type = rng.choice(sorted(samples))
        payload = _vary(provider, event_type, copy.deepcopy(samples[event_type]), rng.randrange(objects), k)
        if provider == "stripe" and rng.random() < 0.08:  # 2% of all events: a type nobody mapped
            payload["type"] = event_type = "customer.tax_id.created"
        yield provider, event_type, payload


def signed(bench, provider, event_type, body, msg_id):
    """The headers the provider would send with body."""
    from zarts.services.ingest import signatures

    _, _, secret, scheme = bench.connections[provider]
    headers = signatures.sign(scheme, body, secret, msg_id=msg_id)
    headers["Content-Type"] = "application/json"
    if provider in EVENT_TYPE_HEADERS:
        headers[EVENT_TYPE_HEADERS[provider]] = event_type
    return headers


def store_events(bench, n, seed, chunk=1000):
    """Insert n received events with their raw bodies (the rows the endpoint writes); their ids."""
    from zarts.extensions import db
    from zarts.models import RawEvent, WebhookEvent, utcnow
    from zarts.providers import definition
    from zarts.services.ingest import masking, summaries

    ids, tag = [], secrets.token_hex(3)
    with bench.app.app_context():
        sensitive = bench.app.config["PAYLOAD_SENSITIVE_KEYS"]
        mix = list(event_mix(n, seed))
        for start in range(0, n, chunk):
            events, raws, now = [], {}, utcnow()
            for k, (provider, event_type, payload) in enumerate(mix[start:start + chunk], start):
                msg_id = payload["id"] = f"evt_{tag}_{k}" if provider == "stripe" else f"msg_{tag}_{k}"
                body = json.dumps(payload).encode()
                connection_id = bench.connections[provider][0]
                events.append(dict(
                    connection_id=connection_id, source="webhook", dedupe_key=msg_id, event_type=event_type,
                    status="received", attempts=0, duplicate_count=0, received_at=now,
                    body_sha256=hashlib.sha256(body).hexdigest(),
                    payload_summary=summaries.summarize(
                        payload, event_type=event_type, object_id_paths=definition(provider)["object_id_paths"],
                        sensitive_keys=sensitive, body_size=len(body)),
                ))
                raws[msg_id] = dict(connection_id=connection_id, content_type="application/json", body=body,
                                    received_at=now, headers=masking.mask_headers(
                                        signed(bench, provider, event_type, body, msg_id), sensitive))
            db.session.execute(insert(WebhookEvent.__table__), events)
            table = WebhookEvent.__table__
            found = dict(db.session.execute(select(table.c.dedupe_key, table.c.id)
                                            .where(table.c.dedupe_key.in_(list(raws)))).all())
            db.session.execute(insert(RawEvent.__table__),
                               [{**raw, "webhook_event_id": found[key]} for key, raw in raws.items()])
            db.session.commit()
            ids.extend(sorted(found.values()))
    return ids


def start_worker(bench, *args):
    """`python worker.py *args` in its own process group (RQ forks a scheduler beside it)."""
    return subprocess.Popen([sys.executable, "worker.py", *args], cwd=ROOT, env=bench.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def peak_rss_kb(proc):
    """The worker's peak RSS so far (VmHWM), in KiB; 0 once it is gone.

    Not ru_maxrss from wait4: a child started with fork/vfork + exec inherits the parent's
    high-water mark, so it would report this bench process's size instead.
    """
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            return int(next(line for line in f if line.startswith("VmHWM:")).split()[1])
    except (OSError, StopIteration):
        return 0


def run_worker(bench, *args):
    """Run a worker to its end: (wall seconds, peak RSS KiB, read every 50 ms while it runs)."""
    start, peak = time.monotonic(), 0
    proc = start_worker(bench, *args)
    while proc.poll() is None:
        peak = max(peak, peak_rss_kb(proc))
        time.sleep(0.05)
    if proc.returncode != 0:
        raise RuntimeError(f"worker.py {' '.join(args)} exited with {proc.returncode}")
    return time.monotonic() - start, peak


def stop_worker(proc):
    """SIGTERM (a warm shutdown) to the worker's process group; its peak RSS in KiB."""
    peak = peak_rss_kb(proc)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return peak


def _scalar(bench, sql):
    with bench.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def unfinished(bench):
    """Events not (yet) in a final state."""
    return _scalar(bench, "SELECT COUNT(*) FROM event_webhook_events WHERE status NOT IN ('"
                   + "','".join(FINAL) + "')")


def timeline(bench):
    """(seconds from the first to the last event received, seconds from the first received to the last final)."""
    with bench.engine.connect() as conn:
        first, last, final = conn.execute(text(
            "SELECT MIN(received_at), MAX(received_at), MAX(processed_at) FROM event_webhook_events")).one()
    return (last - first).total_seconds(), (final - first).total_seconds()


def count_events(bench):
    return _scalar(bench, "SELECT COUNT(*) FROM event_webhook_events")


def sync_errors(bench):
    """{'stage ErrorClass: message start': count} of the failed attempts recorded."""
    with bench.engine.connect() as conn:
        rows = conn.execute(text("SELECT stage, error_class, LEFT(message, 120), COUNT(*) FROM integration_sync_errors"
                                 " GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 5"))
        return {f"{stage} {cls}: {msg}": c for stage, cls, msg, c in rows}


def status_counts(bench):
    """{status or outcome: count}, e.g. {'normalized/created': 610, 'ignored': 20}."""
    with bench.engine.connect() as conn:
        rows = conn.execute(text("SELECT status, outcome, COUNT(*) FROM event_webhook_events GROUP BY 1, 2"))
        return {f"{s}/{o}" if o else s: c for s, o, c in rows}


def write_section(path, section):
    """Put section into docs/PERFORMANCE.md in place of an older one; other sections stay as they are."""
    old = open(path).read() if os.path.exists(path) else "# Performance\n"
    pattern = re.compile(re.escape(SECTION) + r".*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: section + "\n", old, count=1).rstrip("\n") + "\n"
    else:
        new = old.rstrip("\n") + "\n\n" + section
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as out:
        out.write(new)
