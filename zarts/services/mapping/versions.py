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
    """Store new_mapping as the connection's next version, saying why; DomainError when it is invalid,
    has no reason, or is the mapping already in force (that is not a new version)."""
    problems = rules.validate(new_mapping)
    if problems:
        raise DomainError("; ".join(problems))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("say why the mapping changes (the reason is kept with the version)")
    current = effective_mapping(connection)
    latest = max((m.version for m in connection.mappings), default=0)
    if new_mapping == current:
        shown = f"version {latest}" if latest else f"the {connection.provider.name} default"
        raise DomainError(f"nothing changed: this is {shown}, already in force")
    saved = ConnectionMapping(connection_id=connection.id, version=latest + 1, mapping=new_mapping,
                              reason=reason[:2000], created_by_id=getattr(actor, "id", None))
    db.session.add(saved)
    audit.record(actor, "mapping.save", "connection", connection.id, reason,
                 {"version": latest, "mapping": current}, {"version": latest + 1, "mapping": new_mapping})
    db.session.commit()
    return saved


def restore(connection, version, actor, reason=""):
    """Put an earlier version (0: the provider's default) back in force, as a new version; the new version."""
    old = mapping_at(connection, version)
    why = (reason or "").strip()
    return save_mapping(connection, old, actor, f"restored version {version}" + (f": {why}" if why else ""))


def mapping_at(connection, version):
    """The mapping saved as this version (0: the provider's default); DomainError for an unknown one."""
    if version == 0:
        return connection.provider.default_mapping
    found = db.session.scalar(db.select(ConnectionMapping.mapping).where(
        ConnectionMapping.connection_id == connection.id, ConnectionMapping.version == version))
    if found is None:
        raise DomainError(f"connection {connection.id} has no mapping version {version}")
    return found


def version_at(connection_id, moment):
    """The version in force at a moment (0: the provider's default then)."""
    return db.session.scalar(db.select(db.func.max(ConnectionMapping.version)).where(
        ConnectionMapping.connection_id == connection_id, ConnectionMapping.created_at <= moment)) or 0


def versions(connection):
    """Saved versions, newest first, as (ConnectionMapping, author's name, or None for the system)."""
    return [(saved, author.display_name if author else None) for saved, author in db.session.execute(
        db.select(ConnectionMapping, User).outerjoin(User, ConnectionMapping.created_by_id == User.id)
        .where(ConnectionMapping.connection_id == connection.id).order_by(ConnectionMapping.version.desc()))]


def history(connection):
    """Saved versions, newest first, each with who (name), when, why and its changes from the one before:
    [{"version", "author", "at", "reason", "changes": [(path, before, after)]}]."""
    rows = versions(connection)
    entries = []
    for i, (saved, author) in enumerate(rows):
        before = rows[i + 1][0].mapping if i + 1 < len(rows) else connection.provider.default_mapping
        entries.append({"version": saved.version, "author": author, "at": saved.created_at,
                        "reason": saved.reason, "changes": diff(before, saved.mapping)})
    return entries


def diff(before, after, path=""):
    """What changed between two mappings, by path: [(path, value before or None, value after or None)]."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in sorted(set(before) | set(after), key=str):
            changes += diff(before.get(key), after.get(key), f"{path}.{key}" if path else str(key))
        return changes
    return [] if before == after else [(path, before, after)]


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
