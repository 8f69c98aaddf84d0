"""After-commit hand-off of accepted events to the queue, batched off the request's hot path.

Each web process keeps a short in-memory list of event ids it has committed and a relay thread
that enqueues them as one job per batch. The list is only a shortcut: an id lost with a crashed
process is still `received` in the database, where the sweeper finds it.
"""
import os
import threading
import time

from flask import current_app

from .handoff import hand_over

BATCH_MAX = 200
# Each hand-off costs about the same (one RQ job, one status UPDATE and commit) however many ids it
# carries, and under load it took ~1.7 ms CPU: a 50 ms window makes it ~30 ids a job at 600/s per
# process instead of ~12, and only delays normalization, never the answer.
BATCH_WAIT_SECONDS = 0.05


class Relay:
    """One per app and process; started lazily so it survives gunicorn's fork."""

    def __init__(self, app):
        self.app = app
        self.pending = []
        self.cond = threading.Condition()
        self.pid = None

    def notify(self, event_id):
        """Queue an event id for hand-off; returns at once."""
        with self.cond:
            self.pending.append(event_id)
            if self.pid != os.getpid():
                self.pid = os.getpid()
                threading.Thread(target=self._run, name="zarts-outbox", daemon=True).start()
            if len(self.pending) in (1, BATCH_MAX):  # a batch starts, or is full: wake the relay
                self.cond.notify()

    def _run(self):
        while True:
            with self.cond:
                while not self.pending:
                    self.cond.wait()
                # Let a burst gather into one job for the whole window, not just until the next id.
                deadline = time.monotonic() + BATCH_WAIT_SECONDS
                while len(self.pending) < BATCH_MAX and (left := deadline - time.monotonic()) > 0:
                    self.cond.wait(left)
                batch, self.pending = self.pending[:BATCH_MAX], self.pending[BATCH_MAX:]
            self._flush(batch)

    def _flush(self, batch):
        with self.app.app_context():
            try:
                hand_over(batch)
            except Exception:  # the relay must survive anything; the sweeper is the safety net
                self.app.logger.exception("outbox flush failed; %d event(s) left for the sweeper", len(batch))


def notify(event_id):
    """Hand one committed event over, synchronously when OUTBOX_SYNC is set (tests)."""
    app = current_app._get_current_object()
    if app.config.get("OUTBOX_SYNC"):
        hand_over([event_id])
        return
    relay = app.extensions.get("zarts_outbox")
    if relay is None:
        relay = app.extensions.setdefault("zarts_outbox", Relay(app))
    relay.notify(event_id)
