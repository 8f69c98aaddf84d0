"""Replay, retry now, ignore and manual resolution of events: admin writes, each audited."""
from sqlalchemy import select, update

from ...extensions import db
from ...models import FINAL_STATUSES, RawEvent, WebhookEvent, utcnow
from .. import DomainError, audit
from ..ingest.handoff import hand_over
from ..mapping import versions
from . import failures, retention

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


MAPPING_CHOICES = ("current", "at_the_time")


def replay(event_ids, actor=None, reason="", mapping="current"):
    """Normalize these events again from their raw bytes (e.g. after a mapping fix); returns the count.

    mapping: "current" (the version in force), "at_the_time" (the version in force when each event was
    last processed), or a version number (0: the provider's default). A replay is a fresh start:
    attempts reset, history (sync errors, audit) kept.
    """
    events = list(db.session.scalars(select(WebhookEvent).where(WebhookEvent.id.in_(list(event_ids)))))
    purged = set(db.session.scalars(select(RawEvent.webhook_event_id).where(
        RawEvent.webhook_event_id.in_([e.id for e in events]), RawEvent.purged_at.is_not(None))))
    events = [e for e in events if e.status in REPLAYABLE and e.source not in NOT_REPLAYABLE_SOURCES
              and e.id not in purged]
    replayed = []
    for event in events:
        pin = _pin(event, mapping)
        before = {"status": event.status, "attempts": event.attempts}
        if _set(event, event.status, status="received", status_reason="replay requested", attempts=0,
                next_attempt_at=None, mapping_version_pin=pin):
            audit.record(actor, "event.replay", "event", event.id, reason, before,
                         {"status": "received", "mapping_version": "current" if pin is None else pin})
            replayed.append(event.id)
    db.session.commit()
    hand_over(replayed)
    return len(replayed)


def _pin(event, mapping):
    """The mapping version a replay of this event uses (None: the one in force when it runs)."""
    if mapping == "current":
        return None
    if mapping == "at_the_time":
        return versions.version_at(event.connection_id, event.processed_at or event.received_at)
    if isinstance(mapping, int) and not isinstance(mapping, bool):
        versions.mapping_at(event.connection, mapping)  # DomainError for a version that does not exist
        return mapping
    raise DomainError(f"mapping: choose current, at_the_time or a version number, not {mapping!r}")


def replay_event(event, actor=None, reason="", shown_status=None, mapping="current"):
    """Replay one event (see replay()); a DomainError when it cannot be replayed."""
    status = _shown(event, shown_status)
    if event.source in NOT_REPLAYABLE_SOURCES:
        raise DomainError(f"a {event.source} event has no provider payload to replay")
    if status not in REPLAYABLE:
        raise DomainError(f"an event that is {_words(status)} cannot be replayed")
    if (purged := retention.purged_at(event.id)) is not None:
        raise DomainError(f"its raw body was purged on {purged:%Y-%m-%d} (retention period): there is nothing to replay")
    if not replay([event.id], actor, reason, mapping):
        raise _changed(event, status)


def retry_now(event, actor=None, reason="", shown_status=None):
    """Run a failed or waiting event again now, keeping its attempt count."""
    mark_retry(event, actor, reason, shown_status)
    db.session.commit()
    hand_over([event.id])


def mark_retry(event, actor=None, reason="", shown_status=None):
    """Set one event up for a retry, audited, in the current transaction; the caller commits and enqueues."""
    status = _shown(event, shown_status)
    if status not in RETRYABLE:
        raise DomainError(f"an event that is {_words(status)} cannot be retried")
    before = {"status": status, "next_attempt_at": _iso(event.next_attempt_at)}
    values = {"attempts": 0} if status == "dead_lettered" else {}
    if not _set(event, status, status="received", next_attempt_at=None, status_reason="retry requested", **values):
        raise _changed(event, status)
    audit.record(actor, "event.retry", "event", event.id, reason, before, {"status": "received"})


def ignore(event, actor, reason, shown_status=None):
    """Mark an event ignored on purpose; a reason is required."""
    status = _shown(event, shown_status)
    if not (reason or "").strip():
        raise DomainError("a reason is required to ignore an event")
    if status in ("normalized", "processing"):
        raise DomainError(f"an event that is {_words(status)} cannot be ignored")
    if not _set(event, status, status="ignored", status_reason=f"ignored by admin: {reason.strip()}",
                processed_at=utcnow(), next_attempt_at=None):
        raise _changed(event, status)
    audit.record(actor, "event.ignore", "event", event.id, reason, {"status": status}, {"status": "ignored"})
    db.session.commit()


def resolve_manually(event, actor, reason, shown_status=None):
    """Close a failed event because an admin handled it by hand (a worker's claim on it ends)."""
    status = _shown(event, shown_status)
    if not (reason or "").strip():
        raise DomainError("a reason is required to resolve an event by hand")
    if status in FINAL_STATUSES and status != "dead_lettered":
        raise DomainError(f"an event that is {_words(status)} needs no manual resolution")
    if not _set(event, status, status="resolved_manually", status_reason=reason.strip(), processed_at=utcnow(),
                next_attempt_at=None):
        raise _changed(event, status)
    audit.record(actor, "event.resolve_manually", "event", event.id, reason, {"status": status},
                 {"status": "resolved_manually"})
    db.session.commit()


def _shown(event, shown_status):
    """The status the admin acted on: the one their page showed, else the one just read."""
    if shown_status and shown_status != event.status:
        raise _changed(event, shown_status)
    return event.status


def _set(event, seen, **values):
    """Write values on the event only if its status is still `seen` (compare-and-set); any
    worker's claim on it ends. True when written."""
    table = WebhookEvent.__table__
    result = db.session.execute(update(table).where(table.c.id == event.id, table.c.status == seen)
                                .values(claim_token=None, lease_expires_at=None, **values))
    connection_id = event.connection_id
    db.session.expire(event)
    if result.rowcount == 1 and seen == "dead_lettered":
        failures.settle_dead_letters(connection_id)  # the task closes with its last dead letter
    return result.rowcount == 1


def _changed(event, status):
    now = db.session.scalar(select(WebhookEvent.status).where(WebhookEvent.id == event.id))
    return DomainError(f"event {event.id} changed from {_words(status)} to {_words(now)} meanwhile; "
                       "nothing was done: look at it again")


def _words(status):
    return (status or "gone").replace("_", " ")


def _iso(value):
    return value.isoformat() if value else None
