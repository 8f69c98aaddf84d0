"""Normalization: turn claimed events into normalized records, exactly once per provider object.

A batch is planned in memory (parse + map, no writes), then written in one transaction. A clash
with another worker (deadlock, lock wait, the same object inserted first) is retried at once; if
the batch still fails, each event is written in its own transaction instead, and the ones that
still fail are retried later or dead-lettered.
"""
import json
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import defer, selectinload

from ...db_errors import is_conflict
from ...extensions import db
from ...models import Connection, RawEvent, WebhookEvent, utcnow
from ..health import checks
from ..mapping import rules, shapes
from ..mapping.versions import effective_mapping, mapping_at
from ..proof import outcomes
from . import claims, failures, records

CONFLICT_TRIES = 3
SUCCESS_STAMP_SECONDS = 1  # last_success_at is written at most this often per connection


@dataclass
class Plan:
    """What to do with one claimed event."""

    event: WebhookEvent
    record: rules.MappedRecord | None = None
    ignored: str | None = None
    error: tuple | None = None  # (stage, exception), permanent
    payload: object = None  # the parsed body, for the paths index


def process(event_ids):
    """Claim and normalize these events; returns counts by outcome. Safe to call twice.

    Then the batch's connections get a health check (see health.after_batch).
    """
    healths = {}
    counts = _process(event_ids, healths)
    if healths:
        checks.after_batch(healths, bool(counts.get("failed") or counts.get("dead_lettered")))
    return counts


def _process(event_ids, healths):
    token, claimed = claims.claim(event_ids)
    counts = {"claimed": len(claimed)}
    if not claimed:
        return counts
    try:
        _normalize(claimed, token, counts, healths)
    except Exception:
        claims.abandon(token)  # e.g. the database went away mid-batch: not held until the lease ends
        raise
    return counts


def _normalize(claimed, token, counts, healths):
    """Write the claimed events' outcomes, adding them to counts."""
    events = _load(claimed)
    healths.update({event.connection_id: event.connection.health for event in events})
    stamps = {event.connection_id: event.connection.last_success_at for event in events}
    events = _drop_abandoned(events, counts, token)
    now = utcnow()
    seen = {}  # event id -> (connection id, event type, payload): what the paths index learns from
    written, succeeded = _write_batch(events, counts, now, token, seen) if len(events) > 1 else (False, set())
    if not written:  # whatever went wrong, each event gets its own try and its own record
        for event_id in [event.id for event in events]:
            succeeded |= _write_alone(event_id, counts, now, token, seen)
    if seen and current_app.config.get("PATHS_INDEX", True):
        shapes.observe(list(seen.values()), now)
    recent = now - timedelta(seconds=SUCCESS_STAMP_SECONDS)
    _mark_success({cid for cid in succeeded if stamps.get(cid) is None or stamps[cid] < recent}, now)


def _write_batch(events, counts, now, token, seen):
    """The whole batch in one transaction, tried again at once after a clash: (written, connection ids)."""
    ids = [event.id for event in events]
    for attempt in range(CONFLICT_TRIES):
        try:
            done = {}
            succeeded = _write(_noted(plan_all(events), seen), done, now, token)
            db.session.commit()
            _add(counts, done)
            return True, succeeded
        except Exception as exc:
            db.session.rollback()
            if not is_conflict(exc, duplicate_key=True) or attempt + 1 == CONFLICT_TRIES:
                return False, set()
            _pause(attempt)
            events = _load(ids)
    return False, set()


def _load(ids):
    """The events with their connections and providers, in id order (not their summaries: unused here)."""
    return list(db.session.scalars(
        select(WebhookEvent).where(WebhookEvent.id.in_(ids)).order_by(WebhookEvent.id)
        .options(defer(WebhookEvent.payload_summary),
                 selectinload(WebhookEvent.connection).selectinload(Connection.provider))
    ))


def _write_alone(event_id, counts, now, token, seen):
    """Write one event in its own transaction; a database error here is transient. Its connection id on success."""
    for attempt in range(CONFLICT_TRIES):
        try:
            done = {}
            succeeded = _write(_noted(plan_all([db.session.get(WebhookEvent, event_id)]), seen), done, now, token)
            db.session.commit()
            _add(counts, done)
            return succeeded
        except Exception as exc:  # a database error, or a bug: transient, so retries and then a dead letter
            db.session.rollback()
            if is_conflict(exc, duplicate_key=True) and attempt + 1 < CONFLICT_TRIES:
                _pause(attempt)
                continue
            stage = "upsert" if isinstance(exc, SQLAlchemyError) else "normalize"
            if failures.fail(db.session.get(WebhookEvent, event_id), stage, exc, transient=True, token=token):
                counts["failed"] = counts.get("failed", 0) + 1
            db.session.commit()
            return set()


def _noted(plans, seen):
    """Note each parsed payload for the paths index (by event id: a retried batch notes it once)."""
    for p in plans:
        if p.payload is not None:
            seen[p.event.id] = (p.event.connection_id, p.event.event_type, p.payload)
    return plans


def _held(plans, token):
    """The plans of events this worker still holds, their rows locked until the transaction ends.

    A claim can be lost while a batch is planned: its lease ran out and the sweeper handed the
    event to another worker, or an admin ignored or resolved it. Those are left alone; with the
    rows locked, neither can happen until this batch has written its final states.
    """
    table = WebhookEvent.__table__
    ids = set(db.session.scalars(select(table.c.id).where(
        table.c.id.in_([p.event.id for p in plans]), table.c.claim_token == token).with_for_update()))
    return [p for p in plans if p.event.id in ids]


def _pause(attempt):
    time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))  # jitter, so the clash is not repeated


def _add(counts, done):
    for key, value in done.items():
        counts[key] = counts.get(key, 0) + value


def _mark_success(connection_ids, now):
    """Record the connections' last success in a short transaction of its own, after the batch.

    Inside the batch, the lock on each connection row would last the whole batch; every other
    worker's batch and every delivery (its insert checks the row as a foreign key) would wait for it.
    """
    if not connection_ids:
        return
    table = Connection.__table__
    try:
        for connection_id in sorted(connection_ids):
            db.session.execute(update(table).where(
                table.c.id == connection_id, or_(table.c.last_success_at.is_(None), table.c.last_success_at < now),
            ).values(last_success_at=now, updated_at=table.c.updated_at))
        db.session.commit()
    except SQLAlchemyError:  # the records are committed; the next batch sets it again
        db.session.rollback()
        current_app.logger.warning("could not record last success for connections %s", sorted(connection_ids))


def _drop_abandoned(events, counts, token):
    """Events whose claims keep expiring (a worker dies on them) are dead-lettered, not retried forever."""
    kept = []
    for event in events:
        if event.attempts > event.connection.retry_max_attempts:
            reason = f"abandoned: {event.attempts - 1} attempts ended without a result"
            if failures.dead_letter(event, reason, token):
                counts["dead_lettered"] = counts.get("dead_lettered", 0) + 1
        else:
            kept.append(event)
    if len(kept) < len(events):
        db.session.commit()
    return kept


def plan_all(events):
    """Parse and map each event (no writes)."""
    bodies = {event_id: None if purged else body for event_id, body, purged in db.session.execute(
        select(RawEvent.webhook_event_id, RawEvent.body, RawEvent.purged_at)
        .where(RawEvent.webhook_event_id.in_([e.id for e in events])))}
    mappings = {}
    plans = []
    for event in events:
        key = (event.connection_id, event.mapping_version_pin)  # a replay may ask for another version
        if key not in mappings:
            mappings[key] = (effective_mapping(event.connection) if event.mapping_version_pin is None
                             else mapping_at(event.connection, event.mapping_version_pin))
        plans.append(plan(event, bodies.get(event.id), mappings[key]))
    return plans


def plan(event, body, active_mapping):
    """Decide one event's fate from its raw body and the mapping in force."""
    if body is None:
        return Plan(event, error=("parse", ValueError("raw body is missing or was purged (retention period)")))
    try:
        payload = json.loads(bytes(body))
    except (ValueError, RecursionError) as exc:
        return Plan(event, error=("parse", exc))
    if rules.is_ignored(active_mapping, event.event_type):
        return Plan(event, ignored=f"event type '{event.event_type}' is ignored by the mapping", payload=payload)
    rule = rules.rule_for(active_mapping, event.event_type)
    if rule is None:
        return Plan(event, ignored=f"no mapping for event type '{event.event_type}'", payload=payload)
    try:
        return Plan(event, record=rules.apply(rule, payload), payload=payload)
    except rules.MappingError as exc:
        return Plan(event, error=("map", exc), payload=payload)


def _write(plans, counts, now, token):
    """Apply the plans inside the current transaction; the ids of the connections whose live events
    succeeded (their cards are refreshed and their last success stamped)."""
    plans = _held(plans, token)
    mapped = [p for p in plans if p.record is not None]
    results = records.upsert([(p.event, p.record) for p in mapped], now)
    succeeded, finished = set(), {}
    for p in plans:
        event = p.event
        if p.record is not None:
            record, outcome = results[event.id]
            finished.setdefault(("normalized", outcome, None), {})[event.id] = record.id
            if event.mode == "live":  # a test delivery proves nothing about live data, nor moves a card
                succeeded.add(event.connection_id)
            counts[outcome] = counts.get(outcome, 0) + 1
        elif p.ignored:
            finished.setdefault(("ignored", None, p.ignored), {})[event.id] = None
            if event.mode == "live":
                succeeded.add(event.connection_id)
            counts["ignored"] = counts.get("ignored", 0) + 1
        else:
            stage, exc = p.error
            if failures.fail(event, stage, exc, transient=False, token=token):
                counts["dead_lettered"] = counts.get("dead_lettered", 0) + 1
    _finish(finished, now, token)
    outcomes.refresh_for(succeeded, now)
    current_app.logger.debug("normalized batch: %s", counts)
    return succeeded


def _finish(finished, now, token):
    """Set final states with one UPDATE per (status, outcome, reason), not one per event, on the
    events this worker's claim (token) still holds.

    finished: {(status, outcome, reason): {event id: normalized record id or None}}. The events'
    objects in the session are not changed (they expire at commit).
    """
    table = WebhookEvent.__table__
    for (status, outcome, reason), record_ids in finished.items():
        linked = case(record_ids, value=table.c.id) if status == "normalized" else None
        db.session.execute(update(table).where(table.c.id.in_(list(record_ids)), table.c.claim_token == token).values(
            status=status, status_reason=reason, processed_at=now, outcome=outcome, normalized_event_id=linked,
            claim_token=None, lease_expires_at=None, next_attempt_at=None,
        ), execution_options={"compiled_cache": None})  # each CASE has its own shape: caching would only grow
