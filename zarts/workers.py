"""Worker processes: which one holds a claim, and whether any are alive.

Each worker.py process takes a name and beats a heartbeat into Redis every HEARTBEAT_SECONDS (a
key that lives ALIVE_SECONDS). Claims carry the name, so the sweeper ends the claims of a worker
that stopped beating (killed, its host gone) at once instead of waiting out the lease, and
/healthz and the health board can say when no worker has been seen for a while.
"""
import os
import secrets
import socket
import threading
import time

from flask import current_app
from redis.exceptions import RedisError

from .queues import queue_name, redis_connection

HEARTBEAT_SECONDS = 5
ALIVE_SECONDS = 20
QUIET_AFTER_SECONDS = 60  # no heartbeat for this long: "no worker seen" on /healthz and the board

_name = None


def name():
    """This process's worker name, or None when it is not a worker (a web process, the CLI)."""
    return _name


def start(app):
    """Make this process a named worker: one heartbeat now, then a thread that keeps beating."""
    global _name
    _name = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"
    with app.app_context():
        _beat_once(app)
    threading.Thread(target=_beat, args=(app,), name="zarts-heartbeat", daemon=True).start()
    return _name


def _beat(app):
    while True:
        time.sleep(HEARTBEAT_SECONDS)
        with app.app_context():
            _beat_once(app)


def _beat_once(app):
    conn = redis_connection()
    if conn is None:
        return
    try:
        now = time.time()
        with conn.pipeline() as pipe:
            pipe.set(queue_name(f"worker:{_name}"), f"{now:.3f}", ex=ALIVE_SECONDS)
            pipe.set(queue_name("workers-last-seen"), f"{now:.3f}")
            pipe.execute()
    except RedisError as exc:  # Redis is down: the worker rides it out; the next beat tries again
        app.logger.warning("heartbeat not sent: %s", type(exc).__name__)


def alive():
    """Names of the workers whose heartbeat is current; RedisError when Redis cannot be asked."""
    conn = redis_connection()
    if conn is None:
        return set()
    prefix = queue_name("worker:")
    return {key.decode()[len(prefix):] for key in conn.scan_iter(match=prefix + "*", count=1000)}


def status():
    """A plain dict for /healthz and the board: how many workers beat, and when one was last seen."""
    if not current_app.config.get("REDIS_URL"):
        return {"ok": True, "mode": "in-process"}
    try:
        count = len(alive())
        last = redis_connection().get(queue_name("workers-last-seen"))
    except RedisError as exc:
        return {"ok": False, "mode": "redis", "error": type(exc).__name__}
    seen = None if last is None else max(0, round(time.time() - float(last)))
    ok = count > 0 or (seen is not None and seen < QUIET_AFTER_SECONDS)
    return {"ok": ok, "mode": "redis", "alive": count, "last_seen_seconds_ago": seen}
