"""The mapping studio's work on a draft mapping: stored samples of an event type, suggestions from
them, a path picked into the draft's rule, and a preview of the draft on many stored events.

Nothing here writes: the draft is saved as a version by versions.save_mapping. Values shown are
masked as in payload summaries (sensitive keys), like the single-event preview.
"""
import copy
import json

from flask import current_app
from sqlalchemy import select, tuple_

from ...extensions import db
from ...models import NormalizedEvent, RawEvent, WebhookEvent
from .. import DomainError
from ..ingest import masking
from ..pipeline import ordering
from . import rules, suggest

SAMPLES = 50
TARGETS = ("external_id", "status", "occurred_at", "version", "field", "metric")
OUTCOMES = ("created", "updated", "unchanged", "failed", "ignored")


def samples(connection, event_type, limit=SAMPLES):
    """The newest stored payloads of this event type on the connection (raw bodies not purged), parsed."""
    rows = db.session.execute(
        select(WebhookEvent.id, RawEvent.body).join(RawEvent, RawEvent.webhook_event_id == WebhookEvent.id)
        .where(WebhookEvent.connection_id == connection.id, WebhookEvent.event_type == event_type,
               WebhookEvent.source != "manual", RawEvent.purged_at.is_(None))
        .order_by(WebhookEvent.id.desc()).limit(limit)).all()
    found = []
    for event_id, body in rows:
        try:
            found.append((event_id, json.loads(bytes(body))))
        except (ValueError, RecursionError, TypeError):
            continue
    return found


def suggestions(connection, event_type):
    """Suggestions for a rule from the stored samples; DomainError when there are none."""
    payloads = [payload for _, payload in samples(connection, event_type)]
    if not payloads:
        raise DomainError(f"no stored deliveries of type '{event_type}' on this connection to learn from")
    return suggest.suggest(event_type, payloads), len(payloads)


def with_suggestion(mapping, event_type, found):
    """The draft with a suggested rule for the event type (one it has is kept, not replaced)."""
    draft = copy.deepcopy(mapping) if isinstance(mapping, dict) else {"version": 1, "events": {}}
    events = draft.setdefault("events", {})
    if event_type not in events:
        events[event_type] = suggest.as_rule(found)
    return draft


def pick(mapping, event_type, path, target, name=None):
    """The draft with `path` mapped into the event type's rule as `target` (a field or metric named
    `name`, else after the path's last part); DomainError for a target it does not know."""
    if target not in TARGETS:
        raise DomainError(f"choose what the path becomes: {', '.join(TARGETS)}")
    if not path:
        raise DomainError("choose a path")
    draft = copy.deepcopy(mapping) if isinstance(mapping, dict) else {"version": 1, "events": {}}
    rule = draft.setdefault("events", {}).setdefault(event_type, {"object_type": "record", "external_id": path})
    name = _name(name or path)
    if target in ("external_id", "status", "occurred_at", "version"):
        rule[target] = path
    elif target == "field":
        rule.setdefault("fields", {})[name] = path
    else:
        metrics = [m for m in rule.get("metrics", []) if m.get("name") != name]
        rule["metrics"] = metrics + [{"name": name, "value": path, "unit": "count", "period": "month"}]
    return draft


def _name(text):
    last = str(text).replace('"', "").split(".")[-1].split("[")[0].lower()
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in last).strip("_") or "value"
    return cleaned if cleaned[0].isalpha() else f"f_{cleaned}"


def preview_many(connection, mapping, event_type, limit=SAMPLES):
    """What the draft would do to the newest stored events of this type, writing nothing:
    {"counts": {outcome: n}, "examples": [{event_id, outcome, detail}], "total": n} or DomainError."""
    if problems := rules.validate(mapping):
        raise DomainError("the draft is not a valid mapping: " + "; ".join(problems[:5]))
    found = samples(connection, event_type, limit)
    needles = masking.needles_for(current_app.config["PAYLOAD_SENSITIVE_KEYS"])
    planned = []
    for event_id, payload in found:
        if rules.is_ignored(mapping, event_type) or (rule := rules.rule_for(mapping, event_type)) is None:
            planned.append((event_id, "ignored", None, "the draft has no rule for this type"))
            continue
        try:
            planned.append((event_id, None, rules.apply(rule, payload), None))
        except rules.MappingError:
            masked = masking.mask_all(payload, needles, 0, {})
            try:
                rules.apply(rule, masked)
                reason = "fails on a value under a sensitive key"
            except rules.MappingError as exc:
                reason = str(exc)[:300]
            planned.append((event_id, "failed", None, reason))
    stored = _stored(connection, [record for _, _, record, _ in planned if record is not None])
    counts, examples = dict.fromkeys(OUTCOMES, 0), []
    for event_id, outcome, record, detail in planned:
        if record is not None:
            outcome, detail = _outcome(record, stored.get((record.object_type, record.external_id)))
        counts[outcome] += 1
        if len(examples) < 20:
            examples.append({"event_id": event_id, "outcome": outcome, "detail": detail})
    return {"counts": counts, "examples": examples, "total": len(found)}


def _stored(connection, records):
    keys = {(r.object_type, r.external_id) for r in records}
    if not keys:
        return {}
    table = NormalizedEvent.__table__.c
    return {(row.object_type, row.external_id): row for row in db.session.execute(
        select(table.object_type, table.external_id, table.occurred_at, table.provider_version, table.fields,
               table.status, table.provider_status)
        .where(table.connection_id == connection.id, table.mode == "live",
               tuple_(table.object_type, table.external_id).in_(list(keys))))}


def _outcome(record, old):
    label = f"{record.object_type} {record.external_id}"
    if old is None:
        return "created", label
    same = (old.fields, old.status, old.provider_status) == (record.fields, record.status, record.provider_status)
    result = ordering.outcome(record, old.occurred_at, old.provider_version, old.status, same)
    return ("unchanged" if result == "stale" and same else "updated" if result == "stale" else result), label
