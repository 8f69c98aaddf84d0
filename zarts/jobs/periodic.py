"""The periodic sweeper loop, run by worker.py and, in the embedded default, by the app process.

Each round sweeps stranded events; the health check and the sync scheduler run at their own pace.
"""
import threading
import time

from flask import current_app

from ..queues import queue_name, redis_connection
from .normalize import end_abandoned_claims, flush_paths_index, refresh_cards, sweep
from .notify import check_testing, queue_digests, send_notifications
from .retention import purge_raw_bodies
from .sync import check_health, schedule_syncs

SWEEP_INTERVAL_SECONDS = 15
HEALTH_INTERVAL_SECONDS = 60
SYNC_SCHEDULE_INTERVAL_SECONDS = 30
CARDS_INTERVAL_SECONDS = 15
RETENTION_INTERVAL_SECONDS = 3600
NOTIFY_INTERVAL_SECONDS = 15
DIGEST_INTERVAL_SECONDS = 3600


def start(app, interval=SWEEP_INTERVAL_SECONDS):
    """Start the sweeper thread for this process (once)."""
    if app.extensions.get("zarts_sweeper"):
        return
    thread = threading.Thread(target=_loop, args=(app, interval), name="zarts-sweeper", daemon=True)
    app.extensions["zarts_sweeper"] = thread
    thread.start()


def _loop(app, interval):
    while True:
        with app.app_context():
            try:
                end_abandoned_claims()  # this process's own: every worker's loop, not only the sweeping one
                flush_paths_index()  # this process's gathered shapes, so a quiet stream is indexed too
                if _my_turn(interval):
                    sweep()
            except Exception:  # keep sweeping whatever one round hit
                current_app.logger.exception("sweep failed")
            _paced_tasks(app)
        time.sleep(interval)


def _paced_tasks(app):
    """Health check, sync scheduler, card catch-up, raw-body retention, notifications, digests and the
    testing-too-long check, each at its own pace; one failing never stops the others."""
    for name, every, task in (("health", HEALTH_INTERVAL_SECONDS, check_health),
                              ("syncs", SYNC_SCHEDULE_INTERVAL_SECONDS, schedule_syncs),
                              ("cards", CARDS_INTERVAL_SECONDS, refresh_cards),
                              ("retention", RETENTION_INTERVAL_SECONDS, purge_raw_bodies),
                              ("notifications", NOTIFY_INTERVAL_SECONDS, send_notifications),
                              ("digests", DIGEST_INTERVAL_SECONDS, queue_digests),
                              ("testing", DIGEST_INTERVAL_SECONDS, check_testing)):
        try:
            if _due(app, name, every):
                task()
        except Exception:
            current_app.logger.exception("%s round failed", name)


def _due(app, name, every):
    """Once per `every` seconds across all workers (a Redis lock), or per process without Redis."""
    conn = redis_connection()
    if conn is not None:
        return bool(conn.set(queue_name(f"{name}-lock"), "1", nx=True, ex=every))
    last = app.extensions.setdefault("zarts_paced_last", {})
    now = time.monotonic()
    if name in last and now - last[name] < every:
        return False
    last[name] = now
    return True


def _my_turn(interval):
    """With many workers, one sweep per interval: a short Redis lock decides who."""
    conn = redis_connection()
    if conn is None:
        return True
    return bool(conn.set(queue_name("sweeper-lock"), "1", nx=True, ex=max(int(interval) - 1, 1)))


def init_app(app):
    """In the embedded default (no Redis, not testing) the web process sweeps for itself."""
    if app.config.get("REDIS_URL") or app.testing or not app.config.get("EMBEDDED_SWEEPER", True):
        return

    @app.before_request
    def start_embedded_sweeper():
        start(app)
