"""RQ entry points for normalization and the sweeper; they take ids and call services.

In a worker each job runs in its own app context, so its database session (and identity map)
ends with the job. In-process callers (tests, the embedded relay and sweeper threads) already
have a context and use it.
"""
from contextlib import nullcontext

from flask import has_app_context

_app = None


def bind_app(app):
    """Use this app for jobs run outside any app context (worker.py calls this)."""
    global _app
    _app = app


def _context():
    global _app
    if has_app_context():
        return nullcontext()
    if _app is None:  # started by a bare `rq worker`
        from .. import create_app

        _app = create_app()
    return _app.app_context()


def normalize_events(event_ids):
    """Normalize these events (ids only, never payloads), topped up from the backlog; safe to run twice."""
    from ..services import claims, normalize
    from . import BATCH_SIZE

    with _context():
        return normalize.process(claims.top_up(event_ids, BATCH_SIZE))


def sweep():
    """Hand stranded events over again (stuck, due for retry, or abandoned by a dead worker)."""
    from ..services import sweeper

    with _context():
        return sweeper.sweep()


def refresh_cards():
    """Recompute the portal cards left behind by the per-batch debounce."""
    from ..extensions import db
    from ..services import outcomes

    with _context():
        count = outcomes.refresh_due()
        db.session.commit()
        return count
