"""Thin job entry points that take ids; this package is the only place that enqueues work."""
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import update

from ..extensions import db
from ..models import WebhookEvent
from ..queues import get_queue

NORMALIZE_EVENTS = "zarts.jobs.normalize.normalize_events"


def enqueue_normalize(event_ids):
    """Hand committed events to the normalization queue as one job; True when handed over.

    On failure the events stay `received` in the database and the sweeper enqueues them later.
    """
    event_ids = list(event_ids)
    if not event_ids:
        return True
    queue = get_queue()
    if queue is None:
        return False  # embedded mode: the in-process runner picks up `received` events itself
    try:
        queue.enqueue(NORMALIZE_EVENTS, event_ids, job_timeout=300, result_ttl=0, failure_ttl=86400)
    except RedisError as exc:
        current_app.logger.warning("queue unreachable, %d event(s) left for the sweeper: %s",
                                   len(event_ids), type(exc).__name__)
        return False
    table = WebhookEvent.__table__
    db.session.execute(
        update(table).where(table.c.id.in_(event_ids), table.c.status == "received").values(status="queued")
    )
    db.session.commit()
    return True
