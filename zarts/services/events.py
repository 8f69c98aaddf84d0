"""Reading events for the CLI and the views."""
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import EVENT_STATUSES, WebhookEvent

__all__ = ["EVENT_STATUSES", "list_events", "event_dict"]


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
