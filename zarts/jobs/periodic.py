"""The periodic sweeper loop, run by worker.py and, in the embedded default, by the app process."""
import threading
import time

from flask import current_app

from ..queues import queue_name, redis_connection
from .normalize import sweep

SWEEP_INTERVAL_SECONDS = 15


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
                if _my_turn(interval):
                    sweep()
            except Exception:  # keep sweeping whatever one round hit
                current_app.logger.exception("sweep failed")
        time.sleep(interval)


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
