"""Idempotent upserts of normalized records and their metric values."""
from sqlalchemy import select, tuple_

from ..extensions import db
from ..models import MetricValue, NormalizedEvent
from . import mapping


def upsert(pairs, now):
    """Upsert a record per (event, MappedRecord) pair; returns {event_id: (row, outcome)}.

    Outcomes: created, updated, unchanged, or stale when the event is older than the stored
    state (an out-of-order delivery never overwrites newer data).
    """
    rows = _existing({(e.connection_id, r.object_type, r.external_id) for e, r in pairs})
    results, metric_points = {}, {}
    for event, record in pairs:
        key = (event.connection_id, record.object_type, record.external_id)
        row = rows.get(key)
        if row is None:
            row = rows[key] = _new_row(event, record, now)
            outcome = "created"
        else:
            outcome = _update_row(row, record, now)
        results[event.id] = (row, outcome)
        if outcome != "stale":
            when = record.occurred_at or event.received_at
            for point in record.metrics:
                metric_points[(key, point.name)] = (row, point, when)
    db.session.flush()
    _upsert_metrics(metric_points)
    return results


def _existing(keys):
    if not keys:
        return {}
    query = select(NormalizedEvent).where(
        tuple_(NormalizedEvent.connection_id, NormalizedEvent.object_type, NormalizedEvent.external_id).in_(list(keys))
    )
    return {(r.connection_id, r.object_type, r.external_id): r for r in db.session.scalars(query)}


def _new_row(event, record, now):
    row = NormalizedEvent(
        connection_id=event.connection_id, client_id=event.connection.client_id, source=event.source,
        object_type=record.object_type, external_id=record.external_id, action="created",
        status=record.status, provider_status=record.provider_status, fields=record.fields,
        occurred_at=record.occurred_at, provider_version=record.version, created_at=now, updated_at=now,
    )
    db.session.add(row)
    return row


def _update_row(row, record, now):
    if mapping.compare_versions(record, row.occurred_at, row.provider_version) < 0:
        return "stale"
    same = (row.fields, row.status, row.provider_status) == (record.fields, record.status, record.provider_status)
    row.occurred_at = record.occurred_at or row.occurred_at
    row.provider_version = record.version or row.provider_version
    if same:
        return "unchanged"
    row.fields, row.status, row.provider_status = record.fields, record.status, record.provider_status
    row.action, row.updated_at = "updated", now
    return "updated"


def _upsert_metrics(points):
    """The newest value of each (record, metric) replaces the stored one."""
    if not points:
        return
    row_ids = {row.id for row, _, _ in points.values()}
    stored = {
        (m.normalized_event_id, m.name): m
        for m in db.session.scalars(select(MetricValue).where(MetricValue.normalized_event_id.in_(row_ids)))
    }
    for row, point, when in points.values():
        value = stored.get((row.id, point.name))
        if value is None:
            db.session.add(MetricValue(
                normalized_event_id=row.id, connection_id=row.connection_id, client_id=row.client_id,
                name=point.name, value=point.value, unit=point.unit, occurred_at=when,
            ))
        else:
            value.value, value.unit, value.occurred_at = point.value, point.unit, when
