"""Normalization: turn claimed events into normalized records, exactly once per provider object.

A batch is planned in memory (parse + map, no writes), then written in one transaction. If that
transaction fails (say, another worker inserted the same object first), each event is written
in its own transaction instead, and the ones that still fail are retried or dead-lettered.
"""
import json
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import Connection, RawEvent, WebhookEvent, utcnow
from . import claims, failures, mapping, outcomes, records
from .mappings import effective_mapping


@dataclass
class Plan:
    """What to do with one claimed event."""

    event: WebhookEvent
    record: mapping.MappedRecord | None = None
    ignored: str | None = None
    error: tuple | None = None  # (stage, exception), permanent


def process(event_ids):
    """Claim and normalize these events; returns counts by outcome. Safe to call twice."""
    token, claimed = claims.claim(event_ids)
    counts = {"claimed": len(claimed)}
    if not claimed:
        return counts
    events = list(db.session.scalars(
        select(WebhookEvent).where(WebhookEvent.id.in_(claimed)).order_by(WebhookEvent.id)
        .options(selectinload(WebhookEvent.connection).selectinload(Connection.provider))
    ))
    events = _drop_abandoned(events, counts)
    if len(events) == 1:
        _write_alone(events[0].id, counts, plans=plan_all(events))
        return counts
    if not events:
        return counts
    try:
        _write(plan_all(events), counts)
        db.session.commit()
    except Exception:  # whatever went wrong, each event gets its own try and its own record

        db.session.rollback()
        counts = {"claimed": len(claimed)}
        for event in events:
            _write_alone(event.id, counts)
    return counts


def _write_alone(event_id, counts, plans=None):
    """Write one event in its own transaction; a database error here is transient."""
    try:
        _write(plans or plan_all([db.session.get(WebhookEvent, event_id)]), counts)
        db.session.commit()
    except Exception as exc:  # a database error, or a bug: transient, so retries and then a dead letter
        db.session.rollback()
        stage = "upsert" if isinstance(exc, SQLAlchemyError) else "normalize"
        failures.fail(db.session.get(WebhookEvent, event_id), stage, exc, transient=True)
        db.session.commit()
        counts["failed"] = counts.get("failed", 0) + 1


def _drop_abandoned(events, counts):
    """Events whose claims keep expiring (a worker dies on them) are dead-lettered, not retried forever."""
    kept = []
    for event in events:
        if event.attempts > event.connection.retry_max_attempts:
            failures.dead_letter(event, f"abandoned: {event.attempts - 1} attempts ended without a result")
            counts["dead_lettered"] = counts.get("dead_lettered", 0) + 1
        else:
            kept.append(event)
    if len(kept) < len(events):
        db.session.commit()
    return kept


def plan_all(events):
    """Parse and map each event (no writes)."""
    bodies = dict(db.session.execute(
        select(RawEvent.webhook_event_id, RawEvent.body).where(RawEvent.webhook_event_id.in_([e.id for e in events]))
    ).all())
    mappings = {}
    plans = []
    for event in events:
        if event.connection_id not in mappings:
            mappings[event.connection_id] = effective_mapping(event.connection)
        plans.append(plan(event, bodies.get(event.id), mappings[event.connection_id]))
    return plans


def plan(event, body, active_mapping):
    """Decide one event's fate from its raw body and the mapping in force."""
    if body is None:
        return Plan(event, error=("parse", ValueError("raw body is missing")))
    try:
        payload = json.loads(bytes(body))
    except (ValueError, RecursionError) as exc:
        return Plan(event, error=("parse", exc))
    if mapping.is_ignored(active_mapping, event.event_type):
        return Plan(event, ignored=f"event type '{event.event_type}' is ignored by the mapping")
    rule = mapping.rule_for(active_mapping, event.event_type)
    if rule is None:
        return Plan(event, ignored=f"no mapping for event type '{event.event_type}'")
    try:
        return Plan(event, record=mapping.apply(rule, payload))
    except mapping.MappingError as exc:
        return Plan(event, error=("map", exc))


def _write(plans, counts):
    """Apply the plans inside the current transaction."""
    now = utcnow()
    mapped = [p for p in plans if p.record is not None]
    results = records.upsert([(p.event, p.record) for p in mapped], now)
    succeeded = set()
    for p in plans:
        event = p.event
        if p.record is not None:
            record, outcome = results[event.id]
            _finish(event, "normalized", now, outcome=outcome, normalized_event_id=record.id)
            succeeded.add(event.connection_id)
            counts[outcome] = counts.get(outcome, 0) + 1
        elif p.ignored:
            _finish(event, "ignored", now, reason=p.ignored)
            succeeded.add(event.connection_id)
            counts["ignored"] = counts.get("ignored", 0) + 1
        else:
            stage, exc = p.error
            failures.fail(event, stage, exc, transient=False)
            counts["dead_lettered"] = counts.get("dead_lettered", 0) + 1
    outcomes.refresh_for(succeeded, now)
    for connection_id in succeeded:
        db.session.execute(
            Connection.__table__.update().where(Connection.__table__.c.id == connection_id)
            .values(last_success_at=now, updated_at=Connection.__table__.c.updated_at)
        )
    current_app.logger.debug("normalized batch: %s", counts)


def _finish(event, status, now, reason=None, outcome=None, normalized_event_id=None):
    event.status, event.status_reason, event.processed_at = status, reason, now
    event.outcome, event.normalized_event_id = outcome, normalized_event_id
    event.claim_token = event.lease_expires_at = event.next_attempt_at = None
