"""A connection's mapping: the one in force, its saved versions, previews, and saving (audited)."""
import json

from flask import current_app

from ...extensions import db
from ...models import ConnectionMapping, RawEvent, User, WebhookEvent
from .. import DomainError, audit
from ..ingest import masking
from . import rules

PREVIEW_CHOICES = 25
MASKED_LIMITS = {"max_string": 300, "max_depth": 8, "max_items": 50}
HIDDEN = {
    "record": "the mapping makes a record of this event, but it reads values under sensitive keys",
    "ignored": "the mapping ignores this event",
    "error": "the mapping fails on this event, and its error may quote values under sensitive keys",
}


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


def preview_against(connection, candidate, event_id, actor=None, unmasked=False):
    """Dry run of a candidate mapping on one stored event of this connection; writes no record.

    Returns mapping.preview()'s answer plus "event" and "masked", or DomainError for an unknown
    event. Masked (the default): the mapping is applied to the payload with every value under a
    sensitive key masked, so no part of the record, nor an error quoting a value, can show one;
    sizes are bounded. Unmasked is a deliberate look at provider data, audited like the raw view.
    """
    row = db.session.execute(
        db.select(WebhookEvent, RawEvent.body).join(RawEvent, RawEvent.webhook_event_id == WebhookEvent.id)
        .where(WebhookEvent.id == event_id, WebhookEvent.connection_id == connection.id)
    ).first()
    if row is None:
        raise DomainError("choose one of this connection's stored events")
    event, body = row
    if unmasked:
        audit.record(actor, "mapping.preview_unmasked", "event", event.id, "", None, {"connection_id": connection.id})
        db.session.commit()
    try:
        payload = json.loads(bytes(body))
    except (ValueError, RecursionError) as exc:
        return {"ok": False, "error": f"the stored body is not JSON: {type(exc).__name__}", "event": event,
                "masked": not unmasked}
    result = rules.preview(candidate, event.event_type, payload)
    if not unmasked:
        result = _masked(candidate, event.event_type, payload, result)
    return {**result, "event": event, "masked": not unmasked}


def _masked(candidate, event_type, payload, real):
    """The preview as shown by default: computed from the masked payload, then bounded.

    When masking changes the outcome (say a metric reads a value under a sensitive key), the masked
    answer would mislead and the real one would show the value: only the real verdict is given.
    """
    sensitive = current_app.config["PAYLOAD_SENSITIVE_KEYS"]
    masked_payload = masking.mask_all(payload, masking.needles_for(sensitive), 0, {})
    shown = rules.preview(candidate, event_type, masked_payload)
    if _outcome(shown) != _outcome(real):
        return {"ok": real["ok"], "hidden": HIDDEN[_outcome(real)]}
    if "record" in shown:
        shown["record"] = masking.redact(shown["record"], sensitive, **MASKED_LIMITS)
    return shown


def _outcome(result):
    return "record" if "record" in result else "ignored" if "ignored" in result else "error"
