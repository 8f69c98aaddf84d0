"""Idempotent upserts of normalized records and their metric values.

A record is keyed by (connection, mode, object type, external id): a test delivery updates the
connection's test record of that object, never its live one, and test records hold no metric values.
"""
from sqlalchemy import select, tuple_

from ...extensions import db
from ...models import MetricValue, NormalizedEvent
from . import ordering


def upsert(pairs, now):
    """Upsert a record per (event, MappedRecord) pair; returns {event_id: (row, outcome)}.

    Outcomes: created, updated, unchanged, or stale when the event is not newer than the stored
    state (see ordering: an out-of-order delivery never overwrites newer data). Several workers
    may write the same record at once: each takes its locks in one order (new rows by key, stored rows by id),
    so they wait for each other rather than deadlock, and compares against the locked row.
    """
    pairs = sorted(pairs, key=lambda pair: _key(*pair))  # stable: one record's events keep their order
    rows = _existing({_key(e, r) for e, r in pairs})
    results, metric_points = {}, {}
    for event, record in pairs:
        key = _key(event, record)
        row = rows.get(key)
        if row is None:
            row = rows[key] = _new_row(event, record, now)
            outcome = "created"
        else:  # an event that made this record's state may restate it (a replay with another mapping)
            outcome = _update_row(row, record, now, own=event.normalized_event_id == row.id)
        results[event.id] = (row, outcome)
        if outcome != "stale" and event.mode == "live":
            when = record.occurred_at or event.received_at
            for point in record.metrics:
                metric_points[(key, point.name)] = (row, point, when)
    db.session.flush()
    _upsert_metrics(metric_points)
    return results


def _key(event, record):
    return event.connection_id, event.mode, record.object_type, record.external_id


def _existing(keys):
    """The stored rows for these keys, locked (FOR UPDATE) and read as last committed.

    A plain read finds them first: a locking read of keys not stored yet would lock the gaps
    where they belong and deadlock two workers inserting there. An insert that loses a race
    fails with a duplicate key, and the caller tries the batch again.
    """
    if not keys:
        return {}
    found = select(NormalizedEvent.id).where(tuple_(
        NormalizedEvent.connection_id, NormalizedEvent.mode, NormalizedEvent.object_type, NormalizedEvent.external_id,
    ).in_(list(keys)))
    ids = list(db.session.scalars(found))
    if not ids:
        return {}
    locked = (select(NormalizedEvent).where(NormalizedEvent.id.in_(ids)).order_by(NormalizedEvent.id)
              .with_for_update().execution_options(populate_existing=True))
    return {(r.connection_id, r.mode, r.object_type, r.external_id): r for r in db.session.scalars(locked)}


def _new_row(event, record, now):
    row = NormalizedEvent(
        connection_id=event.connection_id, mode=event.mode, client_id=event.connection.client_id, source=event.source,
        object_type=record.object_type, external_id=record.external_id, action="created",
        status=record.status, provider_status=record.provider_status, fields=record.fields,
        occurred_at=record.occurred_at, provider_version=record.version, created_at=now, updated_at=now,
    )
    db.session.add(row)
    return row


def _update_row(row, record, now, own=False):
    same = (row.fields, row.status, row.provider_status) == (record.fields, record.status, record.provider_status)
    outcome = ordering.outcome(record, row.occurred_at, row.provider_version, row.status, same)
    if outcome == "stale" and own and ordering.compare_versions(
            record, row.occurred_at, row.provider_version, row.status) == 0:
        outcome = "updated"  # the same state of the object, mapped anew
    if outcome == "stale":
        return outcome
    row.occurred_at = record.occurred_at or row.occurred_at
    row.provider_version = record.version or row.provider_version
    if outcome == "unchanged":
        return outcome
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
