"""The Redis connection and RQ queues; in-process mode when REDIS_URL is unset."""
from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

QUEUE_NAMES = ("default",)


def init_app(app):
    """Nothing is connected at start-up: a web node must boot even while Redis is down."""
    app.extensions["zarts_redis"] = None


def redis_connection():
    """The shared Redis client, or None in the embedded (in-process) mode."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    conn = current_app.extensions.get("zarts_redis")
    if conn is None:
        conn = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        current_app.extensions["zarts_redis"] = conn
    return conn


def queue_name(name="default"):
    """Queue names carry a prefix so several deployments (or test runs) can share one Redis."""
    return f"{current_app.config['ZARTS_QUEUE_PREFIX']}:{name}"


def get_queue(name="default"):
    """The RQ queue for name, or None when jobs run in-process."""
    conn = redis_connection()
    if conn is None:
        return None
    return Queue(queue_name(name), connection=conn)


def queue_status():
    """A plain dict about the queue for /healthz and the admin views."""
    conn = redis_connection()
    if conn is None:
        return {"ok": True, "mode": "in-process"}
    try:
        conn.ping()
        return {"ok": True, "mode": "redis", "depth": len(get_queue())}
    except RedisError as exc:
        return {"ok": False, "mode": "redis", "error": type(exc).__name__}


def in_flight():
    """Jobs waiting in the queue or being worked now (0 without Redis); RedisError when unreachable."""
    queue = get_queue()
    if queue is None:
        return 0
    return queue.count + queue.started_job_registry.count
