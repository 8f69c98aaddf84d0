"""Bulk retry: every event matching an explorer filter, walked by a job in keyset batches.

The operation row is the truth about progress: each batch's retries and the new counts and
cursor commit together, so a job run again (a worker died) resumes after the last batch.
"""
from flask import current_app

from ... import dispatch
from ...extensions import db
from ...models import BulkOperation, WebhookEvent, utcnow
from .. import DomainError, audit
from ..ingest.handoff import hand_over
from ..pipeline import replay
from . import explorer, keyset

BATCH_SIZE = 200


def _retryable():
    return WebhookEvent.status.in_(replay.RETRYABLE)


def retry_count(filters):
    """How many events matching the filters can be retried now."""
    return explorer.count(filters, extra=(_retryable(),))


def start_retry(filters, actor):
    """Record a bulk retry of what the filters match (audited) and hand it to a job."""
    total = retry_count(filters)
    if not total:
        raise DomainError("no event matching this filter can be retried")
    now = utcnow()
    operation = BulkOperation(kind="retry", filters=dict(filters.args), status="queued", total=total,
                              actor_id=actor.id, created_at=now, updated_at=now)
    db.session.add(operation)
    db.session.flush()
    audit.record(actor, "bulk.retry", "bulk_operation", operation.id, "",
                 None, {"filters": operation.filters, "total": total})
    db.session.commit()
    operation_id = operation.id
    if not dispatch.submit("run_bulk_operation", operation_id):
        _finish(db.session.get(BulkOperation, operation_id), "failed",
                "the job queue is unreachable; nothing was retried, try again")
    return db.session.get(BulkOperation, operation_id)


def get(operation_id):
    """The bulk operation, or None."""
    return db.session.get(BulkOperation, operation_id)


def run(operation_id):
    """Walk the operation's events newest first and retry them batch by batch; safe to run twice."""
    operation = db.session.get(BulkOperation, operation_id)
    if operation is None or operation.finished:
        return
    filters, errors = explorer.parse_filters(operation.filters)
    if errors:  # e.g. the filtered connection was deleted since
        _finish(operation, "failed", "; ".join(errors))
        return
    operation.status, operation.started_at = "running", operation.started_at or utcnow()
    db.session.commit()
    try:
        _walk(operation, filters)
    except Exception:  # keep the row honest; the events already retried stay retried
        current_app.logger.exception("bulk operation %s failed", operation_id)
        db.session.rollback()
        _finish(db.session.get(BulkOperation, operation_id), "failed", "stopped by an internal error")
        return
    _finish(operation, "done")


def _walk(operation, filters):
    # Events received after the request are not part of it.
    extra = (_retryable(), WebhookEvent.received_at <= operation.created_at)
    reason = f"bulk retry #{operation.id}"
    while True:
        events, next_cursor = explorer.page(filters, operation.cursor, BATCH_SIZE, extra)
        if not events:
            return
        retried = []
        for event in events:
            try:
                replay.mark_retry(event, operation.actor, reason)
                retried.append(event.id)
            except DomainError:  # its status changed since the page was read
                operation.failed += 1
        operation.done += len(retried)
        operation.cursor = keyset.encode(events[-1].received_at, events[-1].id)
        db.session.commit()
        hand_over(retried)
        if next_cursor is None:
            return


def _finish(operation, status, error=None):
    operation.status, operation.error, operation.finished_at = status, error, utcnow()
    db.session.commit()
