"""A connection's mapping: the one in force, its saved versions, previews, and saving (audited)."""
import json

from ...extensions import db
from ...models import ConnectionMapping, RawEvent, User, WebhookEvent
from .. import DomainError, audit
from . import rules

PREVIEW_CHOICES = 25


def effective_mapping(connection):
    """The connection's newest saved mapping, else its provider's default."""
    override = db.session.scalar(
        db.select(ConnectionMapping.mapping).where(ConnectionMapping.connection_id == connection.id)
        .order_by(ConnectionMapping.version.desc()).limit(1)
    )
    return override if override is not None else connection.provider.default_mapping


def save_mapping(connection, new_mapping, actor, reason=""):
    """Store new_mapping as the connection's next version; invalid mappings raise a DomainError."""
    problems = rules.validate(new_mapping)
    if problems:
        raise DomainError("; ".join(problems))
    current = effective_mapping(connection)
    latest = max((m.version for m in connection.mappings), default=0)
    saved = ConnectionMapping(connection_id=connection.id, version=latest + 1, mapping=new_mapping,
                              created_by_id=getattr(actor, "id", None))
    db.session.add(saved)
    audit.record(actor, "mapping.save", "connection", connection.id, reason,
                 {"version": latest, "mapping": current}, {"version": latest + 1, "mapping": new_mapping})
    db.session.commit()
    return saved


def versions(connection):
    """Saved versions, newest first, as (ConnectionMapping, author email or None)."""
    return db.session.execute(
        db.select(ConnectionMapping, User.email).outerjoin(User, ConnectionMapping.created_by_id == User.id)
        .where(ConnectionMapping.connection_id == connection.id).order_by(ConnectionMapping.version.desc())
    ).all()


def preview_events(connection, limit=PREVIEW_CHOICES):
    """The connection's most recent events that kept their raw bytes, to preview a mapping against."""
    return list(db.session.scalars(
        db.select(WebhookEvent).join(RawEvent, RawEvent.webhook_event_id == WebhookEvent.id)
        .where(WebhookEvent.connection_id == connection.id, WebhookEvent.source != "manual")
        .order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc()).limit(limit)
    ))


def preview_against(connection, candidate, event_id):
    """Dry run of a candidate mapping on one stored event of this connection; never writes.

    Returns mapping.preview()'s answer plus the event, or DomainError for an unknown event.
    """
    row = db.session.execute(
        db.select(WebhookEvent, RawEvent.body).join(RawEvent, RawEvent.webhook_event_id == WebhookEvent.id)
        .where(WebhookEvent.id == event_id, WebhookEvent.connection_id == connection.id)
    ).first()
    if row is None:
        raise DomainError("choose one of this connection's stored events")
    event, body = row
    try:
        payload = json.loads(bytes(body))
    except (ValueError, RecursionError) as exc:
        return {"ok": False, "error": f"the stored body is not JSON: {type(exc).__name__}", "event": event}
    return {**rules.preview(candidate, event.event_type, payload), "event": event}
