"""Reading events for the CLI and the views; the audited raw view."""
import json
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import EVENT_STATUSES, AdminAction, Connection, RawEvent, SyncError, WebhookEvent
from .. import audit
from ..ingest import masking
from ..pipeline import retention

__all__ = ["EVENT_STATUSES", "list_events", "event_dict", "get_event", "detail", "view_raw"]

RAW_VIEW_BYTES = 64 * 1024  # what "show raw" renders at most
FIELD_PREVIEW_CHARS = 120


def event_dict(event):
    """The scripting view of one webhook event."""
    return {
        "id": event.id,
        "connection_id": event.connection_id,
        "source": event.source,
        "event_type": event.event_type,
        "dedupe_key": event.dedupe_key,
        "status": event.status,
        "status_reason": event.status_reason,
        "attempts": event.attempts,
        "next_attempt_at": event.next_attempt_at.isoformat() if event.next_attempt_at else None,
        "duplicate_count": event.duplicate_count,
        "received_at": event.received_at.isoformat(),
        "processed_at": event.processed_at.isoformat() if event.processed_at else None,
        "outcome": event.outcome,
        "normalized_record": _record_dict(event.normalized_event),
    }


def _record_dict(record):
    if record is None:
        return None
    return {
        "id": record.id, "object_type": record.object_type, "external_id": record.external_id,
        "action": record.action, "status": record.status, "source": record.source,
    }


def list_events(connection_id=None, status=None, limit=100):
    """Newest events first, optionally for one connection and/or status."""
    query = (
        db.select(WebhookEvent).options(selectinload(WebhookEvent.normalized_event))
        .order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc())
    )
    if connection_id is not None:
        query = query.where(WebhookEvent.connection_id == connection_id)
    if status is not None:
        query = query.where(WebhookEvent.status == status)
    return [event_dict(e) for e in db.session.scalars(query.limit(limit))]


def get_event(event_id):
    """The event with its connection, client and provider loaded, or None."""
    return db.session.scalar(select(WebhookEvent).where(WebhookEvent.id == event_id).options(
        selectinload(WebhookEvent.connection).selectinload(Connection.client),
        selectinload(WebhookEvent.connection).selectinload(Connection.provider),
        selectinload(WebhookEvent.normalized_event),
    ))


RESTART_ACTIONS = ("event.retry", "event.replay")


def detail(event):
    """What the event detail page shows: errors, record fields (redacted) and admin actions."""
    errors = db.session.scalars(
        select(SyncError).where(SyncError.webhook_event_id == event.id).order_by(SyncError.created_at, SyncError.id)
    ).all()
    actions = db.session.scalars(
        select(AdminAction).where(AdminAction.target_type == "event", AdminAction.target_id == str(event.id))
        .order_by(AdminAction.created_at.desc(), AdminAction.id.desc()).options(selectinload(AdminAction.actor))
    ).all()
    record = event.normalized_event
    fields = None
    if record is not None:  # mapped from provider data: shown bounded and masked like a summary
        fields = masking.redact(record.fields or {}, current_app.config["PAYLOAD_SENSITIVE_KEYS"],
                                  max_string=FIELD_PREVIEW_CHARS, max_depth=3)
    return {"errors": errors, "actions": actions, "record": record, "fields": fields,
            "timeline": timeline(errors, actions), "raw_purged_at": retention.purged_at(event.id)}


def timeline(errors, actions):
    """Failed attempts and the admin retries and replays between them, oldest first, as
    (kind, row) pairs: after a retry of a dead letter or a replay, attempts count from 1 again."""
    restarts = [a for a in actions if a.action in RESTART_ACTIONS]
    entries = [(e.created_at, 1, e.id, "error", e) for e in errors] + [
        (a.created_at, 0, a.id, "restart", a) for a in restarts]
    return [(kind, row) for *_, kind, row in sorted(entries, key=lambda entry: entry[:3])]


@dataclass
class RawView:
    """The decoded head of an event's raw bytes, for one audited look."""

    text: str
    size: int
    shown: int
    content_type: str
    headers: dict
    purged_at: object = None  # the retention period emptied the body then

    @property
    def truncated(self):
        return self.shown < self.size

    @property
    def pretty(self):
        """The body as indented JSON when it is whole, valid JSON; else None (shown as received)."""
        if self.truncated or not self.text.lstrip().startswith(("{", "[")):
            return None
        try:
            return json.dumps(json.loads(self.text), indent=2, ensure_ascii=False)
        except ValueError:
            return None


def view_raw(event, actor):
    """Audit the look, then the raw bytes decoded as UTF-8 (bad bytes replaced), cut at RAW_VIEW_BYTES.

    None when no raw bytes are stored for the event.
    """
    raw = db.session.scalar(select(RawEvent).where(RawEvent.webhook_event_id == event.id))
    view = None
    if raw is not None:
        head = bytes(raw.body[:RAW_VIEW_BYTES])
        view = RawView(head.decode("utf-8", "replace"), len(raw.body), len(head), raw.content_type,
                       dict(raw.headers or {}), raw.purged_at)
    audit.record(actor, "event.raw_view", "event", event.id, "", None,
                 {"bytes": view.size, "shown": view.shown} if view else {"bytes": None})
    db.session.commit()
    return view
