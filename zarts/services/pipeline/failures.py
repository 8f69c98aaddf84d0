"""Failed attempts: record them, retry with backoff and jitter, or dead-letter with a task."""
import random
from datetime import timedelta

from ...extensions import db
from ...models import AdminTask, SyncError, utcnow

BACKOFF_FACTOR = 4
JITTER = 0.25


def backoff_seconds(base_seconds, attempt, rng=random):
    """Delay before attempt+1: base * 4^(attempt-1), +-25% jitter (defaults: 2, 8, 32, 128 min)."""
    delay = base_seconds * BACKOFF_FACTOR ** max(attempt - 1, 0)
    return delay * (1 + rng.uniform(-JITTER, JITTER))


def fail(event, stage, exc, transient):
    """Record a failed attempt; schedule a retry if transient and attempts remain, else dead-letter."""
    now = utcnow()
    connection = event.connection
    message = f"{type(exc).__name__}: {exc}"[:2000]
    db.session.add(SyncError(
        connection_id=event.connection_id, webhook_event_id=event.id, stage=stage,
        error_class=type(exc).__name__, message=message, attempt=event.attempts, transient=transient,
        created_at=now,
    ))
    event.claim_token = event.lease_expires_at = None
    if transient and event.attempts < connection.retry_max_attempts:
        delay = backoff_seconds(connection.retry_base_seconds, event.attempts)
        event.status, event.status_reason = "retry_scheduled", f"{stage} failed (attempt {event.attempts}): {message}"
        event.next_attempt_at = now + timedelta(seconds=delay)
        return
    why = "attempts exhausted" if transient else "permanent error"
    dead_letter(event, f"{stage} failed, {why}: {message}", now)


def dead_letter(event, reason, now=None):
    """Give up on an event and make sure its connection's owner has an open task about it."""
    now = now or utcnow()
    event.status, event.status_reason, event.processed_at = "dead_lettered", reason[:2000], now
    event.next_attempt_at = None
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
