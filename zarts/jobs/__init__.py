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


RUN_BULK_OPERATION = "zarts.jobs.bulk.run_bulk_operation"


def enqueue_bulk_operation(operation_id):
    """Hand a committed bulk operation to a worker; True when handed over.

    Without Redis it runs right here, as normalization does in the embedded default.
    """
    queue = get_queue()
    if queue is None:
        from .bulk import run_bulk_operation

        run_bulk_operation(operation_id)
        return True
    try:
        queue.enqueue(RUN_BULK_OPERATION, operation_id, job_timeout=3600, result_ttl=0, failure_ttl=86400)
    except RedisError as exc:
        current_app.logger.warning("queue unreachable, bulk operation %s not started: %s",
                                   operation_id, type(exc).__name__)
        return False
    return True


RUN_CSV_IMPORT = "zarts.jobs.imports.run_csv_import"


def enqueue_csv_import(import_id):
    """Hand an import's next pass (dry run or import) to a job; True when handed over.

    Without Redis the pass runs right here, like enqueue_normalize. With Redis, a failed enqueue
    leaves the import waiting in the database; its page offers to resume it.
    """
    queue = get_queue()
    if queue is None:
        from .imports import run_csv_import

        run_csv_import(import_id)
        return True
    try:
        queue.enqueue(RUN_CSV_IMPORT, import_id, job_timeout=4 * 3600, result_ttl=0, failure_ttl=86400)
    except RedisError as exc:
        current_app.logger.warning("queue unreachable, CSV import %s not handed over: %s", import_id,
                                   type(exc).__name__)
        return False
    return True


RUN_SYNC = "zarts.jobs.sync.run_sync"


def enqueue_sync(run_id):
    """Hand a queued sync run to a worker; True when handed over.

    Without Redis it runs right here. With Redis, a failed enqueue leaves the run queued in the
    database; its lease runs out and the next scheduling round starts it again.
    """
    queue = get_queue()
    if queue is None:
        from .sync import run_sync

        run_sync(run_id)
        return True
    try:
        queue.enqueue(RUN_SYNC, run_id, job_timeout=8 * 3600, result_ttl=0, failure_ttl=86400)
    except RedisError as exc:
        current_app.logger.warning("queue unreachable, sync run %s not handed over: %s", run_id,
                                   type(exc).__name__)
        return False
    return True
