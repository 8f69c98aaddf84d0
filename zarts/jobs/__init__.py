"""Thin job entry points that take ids; this package is the only place that enqueues work."""
from importlib import import_module

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import update

from ..extensions import db
from ..models import WebhookEvent
from ..queues import get_queue
from ..services import write_lock

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
    with write_lock.exclusive(db.engine):
        db.session.execute(
            update(table).where(table.c.id.in_(event_ids), table.c.status == "received").values(status="queued")
        )
        db.session.commit()
    return True


def _enqueue_one(path, record_id, timeout, what):
    """Enqueue path(record_id), or run it right here without Redis; True when handed over.

    A failed enqueue leaves the record waiting in the database (each caller says who picks it up).
    """
    queue = get_queue()
    if queue is None:
        module, name = path.rsplit(".", 1)
        getattr(import_module(module), name)(record_id)
        return True
    try:
        queue.enqueue(path, record_id, job_timeout=timeout, result_ttl=0, failure_ttl=86400)
    except RedisError as exc:
        current_app.logger.warning("queue unreachable, %s %s not handed over: %s", what, record_id,
                                   type(exc).__name__)
        return False
    return True


def enqueue_bulk_operation(operation_id):
    """Hand a committed bulk operation to a worker (or run it here without Redis)."""
    return _enqueue_one("zarts.jobs.bulk.run_bulk_operation", operation_id, 3600, "bulk operation")


def enqueue_csv_import(import_id):
    """Hand an import's next pass (dry run or import) to a job; if the queue is down, the import's
    page offers to resume it."""
    return _enqueue_one("zarts.jobs.imports.run_csv_import", import_id, 4 * 3600, "CSV import")


def enqueue_sync(run_id):
    """Hand a queued sync run to a worker; if the queue is down, its lease runs out and the next
    scheduling round starts it again."""
    return _enqueue_one("zarts.jobs.sync.run_sync", run_id, 8 * 3600, "sync run")
