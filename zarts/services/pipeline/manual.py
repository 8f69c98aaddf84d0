"""Manual fallback: an admin enters a client update by hand; it lands like any normalized record."""
import json
import uuid
from decimal import Decimal, InvalidOperation

from ...extensions import db
from ...models import RawEvent, WebhookEvent, utcnow
from .. import DomainError, audit
from ..ingest import receipt, summaries
from ..mapping import rules
from ..proof import outcomes
from . import records


def manual_update(connection, actor, reason, object_type, external_id, status=None, fields=None, metrics=()):
    """Record a hand-entered update as a normalized record with source `manual`; returns the event.

    metrics: iterable of dicts {name, value, unit, period}.
    """
    reason, external_id = (reason or "").strip(), str(external_id or "").strip()
    if not reason:
        raise DomainError("a reason is required for a manual update")
    if object_type not in rules.OBJECT_TYPES:
        raise DomainError(f"object type must be one of {', '.join(rules.OBJECT_TYPES)}")
    if not external_id or len(external_id) > 255:
        raise DomainError("an external id of 1 to 255 characters is required")
    entered = {"object_type": object_type, "external_id": external_id, "status": status or None,
               "fields": dict(fields or {}), "metrics": [dict(m) for m in metrics]}
    points = tuple(_metric_point(m) for m in entered["metrics"])
    now = utcnow()
    body = json.dumps(entered, default=str).encode()
    event = WebhookEvent(
        connection_id=connection.id, source="manual", mode=receipt.lifecycle_mode(connection.lifecycle),
        dedupe_key=f"manual:{uuid.uuid4().hex}",
        event_type="manual.update", status="processing", attempts=1, received_at=now,
        payload_summary=summaries.summarize(entered, event_type="manual.update", body_size=len(body)),
    )
    db.session.add(event)
    db.session.flush()
    db.session.add(RawEvent(webhook_event_id=event.id, connection_id=connection.id,
                            content_type="application/json", headers={}, body=body, received_at=now))
    record = rules.MappedRecord(
        object_type=object_type, external_id=external_id, occurred_at=now, version=None,
        provider_status=None, status=(status or None), fields=entered["fields"], metrics=points,
    )
    row, outcome = records.upsert([(event, record)], now)[event.id]
    row.source = "manual"
    event.status, event.processed_at, event.outcome, event.normalized_event_id = "normalized", now, outcome, row.id
    outcomes.refresh_for([connection.id], now)
    audit.record(actor, "manual.update", "connection", connection.id, reason, None,
                 {"event_id": event.id, **json.loads(body)})
    db.session.commit()
    return event


def _metric_point(entry):
    name = str(entry.get("name") or "").strip()
    if not name:
        raise DomainError("each metric needs a name")
    try:
        value = Decimal(str(entry.get("value"))).quantize(Decimal("0.0001"))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(f"metric '{name}' needs a numeric value") from exc
    period = entry.get("period") or "month"
    if period not in rules.PERIODS:
        raise DomainError(f"metric period must be one of {', '.join(rules.PERIODS)}")
    return rules.MetricPoint(name=name, value=value, unit=str(entry.get("unit") or "count")[:32], period=period)
