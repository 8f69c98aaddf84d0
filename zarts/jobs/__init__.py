"""Thin job entry points that take ids; this package is the only place that enqueues work."""
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import update

from ..extensions import db
from ..models import WebhookEvent
from ..queues import get_queue

NORMALIZE_EVENTS = "zarts.jobs.normalize.normalize_events"
BATCH_SIZE = 200


def enqueue_normalize(event_ids):
    """Hand committed events to normalization as jobs of up to BATCH_SIZE ids; True when handed over.

    Without Redis (the embedded default) the caller is already off the request path (the outbox
    relay or sweeper thread, or a test), so the batch is normalized right here. With Redis, a
    failed enqueue leaves the events `received` in the database, where the sweeper finds them.
    """
    event_ids = list(event_ids)
    if not event_ids:
        return True
    queue = get_queue()
    if queue is None:
        from .normalize import normalize_events

        for start in range(0, len(event_ids), BATCH_SIZE):
            normalize_events(event_ids[start:start + BATCH_SIZE])
        return True
    try:
        with queue.connection.pipeline() as pipe:
            for start in range(0, len(event_ids), BATCH_SIZE):
                queue.enqueue(NORMALIZE_EVENTS, event_ids[start:start + BATCH_SIZE], job_timeout=600,
                              result_ttl=0, failure_ttl=86400, pipeline=pipe)
            pipe.execute()
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
