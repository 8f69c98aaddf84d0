"""Retention: raw bodies of finished events are emptied once they are older than the retention
period (RAW_RETENTION_DAYS, default 30; a connection may override it, 0 keeps them forever).

Summaries, normalized records, sync errors and audit rows stay; the raw event row keeps its
headers and says when its body went. Events that may still be retried (received, queued,
processing, retry_scheduled, dead_lettered) keep their bodies whatever their age.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from ...extensions import db
from ...models import Connection, RawEvent, WebhookEvent, utcnow

PURGEABLE = ("normalized", "ignored", "resolved_manually")
BATCH = 500


def purge_raw_bodies(now=None, batch=BATCH, max_batches=200):
    """Empty the raw bodies past their retention, a batch per transaction; how many were purged."""
    now = now or utcnow()
    default = current_app.config["RAW_RETENTION_DAYS"]
    overrides = dict(db.session.execute(select(Connection.id, Connection.raw_retention_days)
                                        .where(Connection.raw_retention_days.is_not(None))).all())
    groups = {}  # days -> connection ids (None: every connection without an override)
    for connection_id, days in overrides.items():
        groups.setdefault(days, []).append(connection_id)
    purged = 0
    if default:
        purged += _purge(now - timedelta(days=default), None, sorted(overrides), now, batch, max_batches)
    for days, ids in sorted(groups.items()):
        if days:
            purged += _purge(now - timedelta(days=days), ids, None, now, batch, max_batches)
    return purged


def _purge(cutoff, only, besides, now, batch, max_batches):
    raws, events = RawEvent.__table__.c, WebhookEvent.__table__.c
    query = (select(raws.id).join(WebhookEvent.__table__, events.id == raws.webhook_event_id)
             .where(raws.received_at < cutoff, raws.purged_at.is_(None), events.status.in_(PURGEABLE))
             .order_by(raws.received_at, raws.id).limit(batch))
    if only is not None:
        query = query.where(raws.connection_id.in_(only))
    if besides:
        query = query.where(raws.connection_id.not_in(besides))
    purged = 0
    for _ in range(max_batches):
        ids = list(db.session.scalars(query))
        if not ids:
            break
        db.session.execute(update(RawEvent.__table__).where(raws.id.in_(ids)).values(body=b"", purged_at=now))
        db.session.commit()
        purged += len(ids)
    return purged


def purged_at(event_id):
    """When the event's raw body was purged, or None while it is kept."""
    return db.session.scalar(select(RawEvent.purged_at).where(RawEvent.webhook_event_id == event_id))
