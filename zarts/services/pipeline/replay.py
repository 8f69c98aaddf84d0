"""Replay, retry now, ignore and manual resolution of events: admin writes, each audited."""
from sqlalchemy import select

from ...extensions import db
from ...models import FINAL_STATUSES, WebhookEvent, utcnow
from .. import DomainError, audit
from ..ingest.handoff import hand_over

REPLAYABLE = ("normalized", "ignored", "dead_lettered", "retry_scheduled", "resolved_manually", "received", "queued")
NOT_REPLAYABLE_SOURCES = ("manual",)  # hand-entered updates have no provider payload to map
RETRYABLE = ("retry_scheduled", "dead_lettered", "received", "queued")


def available_actions(event):
    """The admin actions an event's status allows, in the order the UI offers them."""
    actions = []
    if event.status in RETRYABLE:
        actions.append("retry")
    if event.status in REPLAYABLE and event.source not in NOT_REPLAYABLE_SOURCES:
        actions.append("replay")
    if event.status in ("received", "queued", "retry_scheduled", "dead_lettered"):
        actions.append("ignore")
    if event.status not in FINAL_STATUSES or event.status == "dead_lettered":
        actions.append("resolve")
    return actions


def replay(event_ids, actor=None, reason=""):
    """Normalize these events again from their raw bytes (e.g. after a mapping fix); returns the count.

    A replay is a fresh start: attempts reset, history (sync errors, audit) kept.
    """
    events = list(db.session.scalars(select(WebhookEvent).where(WebhookEvent.id.in_(list(event_ids)))))
    events = [e for e in events if e.status in REPLAYABLE and e.source not in NOT_REPLAYABLE_SOURCES]
    for event in events:
        before = {"status": event.status, "attempts": event.attempts}
        event.status, event.status_reason, event.attempts = "received", "replay requested", 0
        event.next_attempt_at = event.claim_token = event.lease_expires_at = None
        audit.record(actor, "event.replay", "event", event.id, reason, before, {"status": "received"})
    db.session.commit()
    hand_over([e.id for e in events])
    return len(events)


def replay_event(event, actor=None, reason=""):
    """Replay one event (see replay()); a DomainError when it cannot be replayed."""
    if event.source in NOT_REPLAYABLE_SOURCES:
        raise DomainError(f"a {event.source} event has no provider payload to replay")
    if event.status not in REPLAYABLE:
        raise DomainError(f"an event that is {event.status} cannot be replayed")
    replay([event.id], actor, reason)


def retry_now(event, actor=None, reason=""):
    """Run a failed or waiting event again now, keeping its attempt count."""
    mark_retry(event, actor, reason)
    db.session.commit()
    hand_over([event.id])


def mark_retry(event, actor=None, reason=""):
    """Set one event up for a retry, audited, in the current transaction; the caller commits and enqueues."""
    if event.status not in RETRYABLE:
        raise DomainError(f"an event that is {event.status} cannot be retried")
    before = {"status": event.status, "next_attempt_at": _iso(event.next_attempt_at)}
    if event.status == "dead_lettered":
        event.attempts = 0
    event.status, event.next_attempt_at, event.status_reason = "received", None, "retry requested"
    audit.record(actor, "event.retry", "event", event.id, reason, before, {"status": "received"})


def ignore(event, actor, reason):
    """Mark an event ignored on purpose; a reason is required."""
    if not (reason or "").strip():
        raise DomainError("a reason is required to ignore an event")
    if event.status in ("normalized", "processing"):
        raise DomainError(f"an event that is {event.status} cannot be ignored")
    before = {"status": event.status}
    event.status, event.status_reason, event.processed_at = "ignored", f"ignored by admin: {reason.strip()}", utcnow()
    event.next_attempt_at = None
    audit.record(actor, "event.ignore", "event", event.id, reason, before, {"status": "ignored"})
    db.session.commit()


def resolve_manually(event, actor, reason):
    """Close a failed event because an admin handled it by hand."""
    if not (reason or "").strip():
        raise DomainError("a reason is required to resolve an event by hand")
    if event.status in FINAL_STATUSES and event.status != "dead_lettered":
        raise DomainError(f"an event that is {event.status} needs no manual resolution")
    before = {"status": event.status}
    event.status, event.status_reason, event.processed_at = "resolved_manually", reason.strip(), utcnow()
    event.next_attempt_at = None
    audit.record(actor, "event.resolve_manually", "event", event.id, reason, before, {"status": "resolved_manually"})
    db.session.commit()


def _iso(value):
    return value.isoformat() if value else None
