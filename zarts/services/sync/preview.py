"""Test sync: read one bounded page and say what a real sync would make of it, writing nothing.

The page is parsed and mapped in memory with the connection's mapping in force and compared with
what is stored, so the counts (created, updated, unchanged, failed, duplicate, ignored) are the
real ones; but no event, normalized record or metric value is written and the cursor does not
move, so nothing can reach the portal, whatever the connection's lifecycle. Only the test run
itself is recorded (mode "test"), plus any 429s, which are real load on the source.
"""
import json
import time
from types import SimpleNamespace

from sqlalchemy import select, tuple_

from ...extensions import db
from ...models import NormalizedEvent, WebhookEvent
from .. import DomainError, audit
from ..health import signals
from ..ingest import secrets
from ..mapping.versions import effective_mapping
from ..pipeline import normalize, ordering
from ..setup import lifecycle
from . import pull, runs, settings
from .source import Source, SourceError

COUNT_KEYS = ("created", "updated", "unchanged", "failed", "duplicate", "ignored")
PAGE_SIZE = 25
MAX_SECONDS = 60
MAX_RETRIES = 2


def test_sync(connection, actor=None):
    """Run one test page; returns {"run_id", "status", "error", "fetched", <COUNT_KEYS>}.

    A draft connection moves to testing, as with a test webhook. DomainError when the connection
    is not a sync connector, is disconnected, or its settings are incomplete.
    """
    if connection.provider.kind != "sync":
        raise DomainError(f"connection {connection.id} is a {connection.provider.name} connection, not a sync connector")
    if connection.lifecycle == "disconnected":
        raise DomainError("a disconnected connection cannot be synced")
    config = settings.effective(connection)
    credential = secrets.decrypt(connection.secret_encrypted)
    if credential is None:
        raise DomainError("the credential cannot be read with the current key: store it again")
    run = runs.start(connection, "test", actor)
    test_config = {**config, "max_retries": min(config["max_retries"], MAX_RETRIES),
                   "max_run_seconds": min(config["max_run_seconds"], MAX_SECONDS)}
    seconds = runs.lease_seconds(test_config)
    token = runs.claim(run.id, seconds)
    if token is None:
        raise runs.AlreadyRunning("another sync took this connection over; try again")
    if connection.lifecycle == "draft":
        lifecycle.transition(connection, "testing", actor, "test sync run")
    result = {"run_id": run.id, "status": "failed", "error": None, "fetched": 0, **dict.fromkeys(COUNT_KEYS, 0)}
    throttled = []

    def on_throttle():
        throttled.append(1)
        signals.bump(connection.id, "throttled")
        runs.extend(run.id, token, seconds)
        db.session.commit()

    source = Source(test_config, credential, time.monotonic() + test_config["max_run_seconds"], on_throttle=on_throttle)
    values = {}
    try:
        page_size = min(config["page_size"], PAGE_SIZE)
        payload = source.get(pull.params(config, None, page_size=page_size))
        records = pull.records_of(config, payload)[:page_size]
        result.update(preview(connection, config, records), fetched=len(records), status="succeeded")
        cursor, _ = pull.advance({**config, "page_size": page_size}, payload, records, None)
        values = {"pages": 1, "fetched": len(records), "cursor_after": cursor}
    except SourceError as exc:
        result["error"] = exc.message
        values = {"error": exc.message, "error_kind": exc.kind}
    counts = {key: result[key] for key in COUNT_KEYS}
    runs.finish(run.id, token, result["status"], {**values, "counts": counts, "throttled": len(throttled)})
    audit.record(actor, "connection.test_sync", "connection", connection.id, "", None,
                 {"run_id": run.id, "status": result["status"], **counts})
    db.session.commit()
    return result


test_sync.__test__ = False  # a service, not a pytest test, wherever it is imported


def preview(connection, config, records):
    """What storing and normalizing these records would do, by COUNT_KEYS; reads only."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    keys = [pull.dedupe_key(config, record) for record in records]
    wanted = {key for key in keys if key is not None}
    known = set(db.session.scalars(select(WebhookEvent.dedupe_key).where(
        WebhookEvent.connection_id == connection.id, WebhookEvent.dedupe_key.in_(wanted)))) if wanted else set()
    active_mapping, seen, mapped = effective_mapping(connection), set(), []
    for key, record in zip(keys, records):
        if key is None:
            counts["failed"] += 1  # no usable id: a real sync skips it
            continue
        if key in known or key in seen:
            counts["duplicate"] += 1
            continue
        seen.add(key)
        body = json.dumps(record).encode()
        plan = normalize.plan(SimpleNamespace(event_type=config["event_type"]), body, active_mapping)
        if plan.record is not None:
            mapped.append(plan.record)
        else:
            counts["ignored" if plan.ignored else "failed"] += 1
    state = _stored(connection, mapped)
    for record in mapped:
        key = (record.object_type, record.external_id)
        outcome = _outcome(state.get(key), record)
        counts[outcome] += 1
        if outcome != "unchanged" or key not in state:
            state[key] = (record.occurred_at, record.version, record.fields, record.status, record.provider_status)
    return counts


def _stored(connection, records):
    """{(object_type, external_id): (occurred_at, version, fields, status, provider_status)} as stored."""
    keys = {(r.object_type, r.external_id) for r in records}
    if not keys:
        return {}
    rows = db.session.scalars(select(NormalizedEvent).where(
        NormalizedEvent.connection_id == connection.id,
        tuple_(NormalizedEvent.object_type, NormalizedEvent.external_id).in_(list(keys))))
    return {(r.object_type, r.external_id): (r.occurred_at, r.provider_version, r.fields, r.status, r.provider_status)
            for r in rows}


def _outcome(current, record):
    """created / updated / unchanged, as records.upsert would decide (an older record changes nothing)."""
    if current is None:
        return "created"
    occurred_at, version, fields, status, provider_status = current
    same = (fields, status, provider_status) == (record.fields, record.status, record.provider_status)
    outcome = ordering.outcome(record, occurred_at, version, status, same)
    return "unchanged" if outcome == "stale" else outcome
