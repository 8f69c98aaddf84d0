"""Failed attempts: record them, retry with backoff and jitter, or dead-letter with a task.

Every write here is made only while the worker still holds the event's claim (its token): a
worker whose lease ran out, or whose event an admin closed meanwhile, changes nothing.
"""
import random
from datetime import timedelta

from sqlalchemy import update

from ...extensions import db
from ...models import AdminTask, SyncError, WebhookEvent, utcnow
from .. import audit
from ..notify import alerts

BACKOFF_FACTOR = 4
JITTER = 0.25
PERMANENT = "permanent error"  # in a dead letter's status_reason: retrying the same payload cannot help


def backoff_seconds(base_seconds, attempt, rng=random):
    """Delay before attempt+1: base * 4^(attempt-1), +-25% jitter (defaults: 2, 8, 32, 128 min)."""
    delay = base_seconds * BACKOFF_FACTOR ** max(attempt - 1, 0)
    return delay * (1 + rng.uniform(-JITTER, JITTER))


def fail(event, stage, exc, transient, token):
    """Record a failed attempt; schedule a retry if transient and attempts remain, else dead-letter.

    Returns False, writing nothing, when `token` no longer holds the event's claim.
    """
    now = utcnow()
    connection = event.connection
    message = f"{type(exc).__name__}: {exc}"[:2000]
    if transient and event.attempts < connection.retry_max_attempts:
        delay = backoff_seconds(connection.retry_base_seconds, event.attempts)
        if not release(event, token, status="retry_scheduled", next_attempt_at=now + timedelta(seconds=delay),
                       status_reason=f"{stage} failed (attempt {event.attempts}): {message}"[:2000]):
            return False
    else:
        why = "attempts exhausted" if transient else PERMANENT
        if not dead_letter(event, f"{stage} failed, {why}: {message}", token, now):
            return False
    db.session.add(SyncError(
        connection_id=event.connection_id, webhook_event_id=event.id, stage=stage,
        error_class=type(exc).__name__, message=message, attempt=event.attempts, transient=transient,
        created_at=now,
    ))
    return True


def dead_letter(event, reason, token, now=None):
    """Give up on an event and make sure its connection's owner has an open task about it.

    Returns False, writing nothing, when `token` no longer holds the event's claim.
    """
    now = now or utcnow()
    if not release(event, token, status="dead_lettered", status_reason=reason[:2000], processed_at=now,
                   next_attempt_at=None):
        return False
    connection = event.connection
    open_key = f"dead_letters:{connection.id}"
    task = db.session.scalar(db.select(AdminTask).filter_by(open_key=open_key))
    if task is None:
        db.session.add(AdminTask(
            connection_id=connection.id, assignee_id=connection.owner_id, webhook_event_id=event.id,
            kind="dead_letter", open_key=open_key, status="open", created_at=now,
            title=f"Dead-lettered events on {connection.name}",
            detail=f"Event {event.id} ({event.event_type or 'unknown type'}): {reason[:500]}",
        ))
    else:
        task.detail = f"Latest: event {event.id} ({event.event_type or 'unknown type'}): {reason[:500]}"
    if event.mode == "live" and connection.lifecycle == "active":  # test data alerts nobody
        alerts.dead_lettered(connection, now)
    return True


def settle_dead_letters(connection_id, now=None):
    """Close the connection's dead-letter task once none of its events is dead-lettered any more
    (retried, replayed, ignored or resolved by hand); True when it closed one. In the caller's transaction."""
    task = db.session.scalar(db.select(AdminTask).filter_by(open_key=f"dead_letters:{connection_id}"))
    if task is None or db.session.scalar(db.select(WebhookEvent.id).filter_by(
            connection_id=connection_id, status="dead_lettered").limit(1)) is not None:
        return False
    task.status, task.open_key, task.resolved_at = "resolved", None, now or utcnow()
    task.detail = f"{task.detail}\nClosed by zarts: no dead-lettered events remain."[:65000]
    audit.record(None, "task.resolve", "task", task.id, "no dead-lettered events remain",
                 {"status": "open"}, {"status": "resolved", "resolved_at": task.resolved_at.isoformat()})
    return True


def failed_for_good(event):
    """True for a dead letter whose error was permanent: it was never retried, and would fail again."""
    return event.status == "dead_lettered" and f", {PERMANENT}:" in (event.status_reason or "")


def release(event, token, **values):
    """Set the event's new state and end its claim, if `token` still holds it; True when it did.

    One conditional UPDATE in the current transaction; the event object is expired, so what is
    read of it next comes from the database.
    """
    table = WebhookEvent.__table__
    result = db.session.execute(update(table).where(table.c.id == event.id, table.c.claim_token == token)
                                .values(claim_token=None, lease_expires_at=None, **values))
    db.session.expire(event)
    return result.rowcount == 1
