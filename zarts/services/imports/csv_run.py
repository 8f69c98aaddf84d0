"""The two passes over an import's file, run by the job: the dry run and the import.

Both stream the stored file and go through the same checks row by row. The dry run writes
nothing but the import's own progress; the import turns every valid row into a webhook event +
raw event and hands each batch to the normalization service, the same path webhooks take,
committing per batch so memory stays flat. A pass holds a lease on the import, renewed per
batch, so two workers never run it at once; a pass that dies can be run again and continues
safely (rows already stored are found by their dedupe key).
"""
import hashlib
import json
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import insert, or_, select, tuple_, update

from ...extensions import db
from ...models import Connection, CsvImport, NormalizedEvent, RawEvent, WebhookEvent, utcnow
from ...models.imports import RUNNING_STATUSES
from ...providers import definition
from ..ingest import receipt, summaries
from ..pipeline import normalize, ordering
from . import csv_complete, csv_parse
from .csv_rows import Tally, scan

LEASE_SECONDS = 300
PROCESS_OUTCOMES = {"created": "created", "updated": "updated", "unchanged": "unchanged", "stale": "ignored",
                    "ignored": "ignored", "failed": "failed", "dead_lettered": "failed"}


class LostClaim(Exception):
    """Another job took the import over (our lease expired): stop without writing more."""


def run(import_id, progress=None):
    """Run the pass the import is waiting for (dry run or import); a no-op when another job holds it.

    progress(stage, rows, bytes_read, size), when given, is called after each batch (the CLI prints it).
    """
    token = _claim(import_id)
    if token is None:
        return {"import_id": import_id, "ran": False}
    imp = db.session.get(CsvImport, import_id)
    try:
        (_dry_run if imp.status == "checking" else _import)(imp, token, progress or _quiet)
    except LostClaim:
        db.session.rollback()
    except csv_parse.FileProblem as exc:
        db.session.rollback()
        _stop(import_id, token, "failed", str(exc))
    except Exception as exc:  # keep the import resumable; the admin sees why it stopped
        db.session.rollback()
        current_app.logger.exception("CSV import %s stopped", import_id)
        _stop(import_id, token, None, f"stopped by an error ({type(exc).__name__}); resume to continue")
    return {"import_id": import_id, "ran": True}


def _claim(import_id):
    now, token = utcnow(), uuid.uuid4().hex
    table = CsvImport.__table__
    result = db.session.execute(update(table).where(
        table.c.id == import_id, table.c.status.in_(RUNNING_STATUSES),
        or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at < now),
    ).values(claim_token=token, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS), status_reason=None))
    db.session.commit()
    return token if result.rowcount == 1 else None


def _save(import_id, token, **values):
    """Write progress (renewing the lease) in the current transaction and commit; LostClaim if not ours."""
    table = CsvImport.__table__
    values.setdefault("lease_expires_at", utcnow() + timedelta(seconds=LEASE_SECONDS))
    result = db.session.execute(update(table).where(table.c.id == import_id, table.c.claim_token == token)
                                .values(**values))
    if result.rowcount != 1:
        raise LostClaim(import_id)
    db.session.commit()


def _stop(import_id, token, status, reason):
    values = {"status_reason": reason[:2000], "claim_token": None, "lease_expires_at": None}
    if status:
        values.update(status=status, finished_at=utcnow())
    try:
        _save(import_id, token, **values)
    except LostClaim:
        db.session.rollback()


def _progress(tally, reader):
    values = {"done_rows": tally.rows, "done_bytes": reader.bytes_read, "counts": _counts(tally),
              "error_count": tally.error_count}
    if len(tally.errors) != tally.errors_saved:  # the kept errors only change until the first 1,000
        values["row_errors"], tally.errors_saved = list(tally.errors), len(tally.errors)
    return values


def _counts(tally):
    counts = {key: tally.counts.get(key, 0) for key in ("created", "updated", "unchanged", "ignored")}
    counts.update(failed=tally.invalid + tally.counts.get("failed", 0), duplicate=tally.duplicate)
    return counts


def _quiet(stage, rows, bytes_read, size):
    pass


def earlier_import(imp):
    """An earlier import of the same file (SHA-256) into the same connection that was imported, or None."""
    return db.session.scalar(
        select(CsvImport).where(CsvImport.connection_id == imp.connection_id, CsvImport.sha256 == imp.sha256,
                                CsvImport.id != imp.id, CsvImport.status.in_(("importing", "done")))
        .order_by(CsvImport.id.desc()).limit(1))


def lock_connection(connection_id):
    """Hold the connection's row until commit, so two imports of one file cannot both start."""
    db.session.execute(select(Connection.id).where(Connection.id == connection_id).with_for_update())


def _dry_run(imp, token, progress):
    tally = Tally()
    reader, batches = scan(imp, tally)
    connection_id, import_id, size = imp.connection_id, imp.id, imp.size
    for batch in batches:
        _classify(connection_id, batch, tally)
        _save(import_id, token, **_progress(tally, reader))
        progress("checking", tally.rows, reader.bytes_read, size)
    done = {**_progress(tally, reader), "total_rows": tally.rows, "checked_at": utcnow()}
    if not imp.auto_import:
        _save(import_id, token, **done, status="dry_run", claim_token=None, lease_expires_at=None)
        return
    # Nobody confirms a delivered file: import it now, unless the same file was imported meanwhile.
    lock_connection(connection_id)
    if (earlier := earlier_import(imp)) is not None:
        _save(import_id, token, **done, status="failed", finished_at=utcnow(), claim_token=None,
              lease_expires_at=None, status_reason=f"the same file was already imported (import #{earlier.id})")
        return
    _save(import_id, token, **{**done, "status": "importing", "started_at": utcnow(), "done_rows": 0, "done_bytes": 0})
    db.session.refresh(imp)
    _import(imp, token, progress)


def _classify(connection_id, batch, tally):
    """What the import would do with each row, judged like records.upsert does (no writes)."""
    keys = {(r.record.object_type, r.record.external_id) for r in batch if r.record}
    table = NormalizedEvent.__table__.c
    stored = {}
    if keys:
        stored = {(row.object_type, row.external_id): row for row in db.session.execute(
            select(table.object_type, table.external_id, table.occurred_at, table.provider_version,
                   table.fields, table.status, table.provider_status)
            .where(table.connection_id == connection_id,
                   tuple_(table.object_type, table.external_id).in_(list(keys))))}
    for r in batch:
        old = stored.get((r.record.object_type, r.record.external_id)) if r.record else None
        if r.record is None:
            outcome = "ignored"
        elif old is None:
            outcome = "created"
        else:
            same = (old.fields, old.status, old.provider_status) == (
                r.record.fields, r.record.status, r.record.provider_status)
            outcome = ordering.outcome(r.record, old.occurred_at, old.provider_version, old.status, same)
            if outcome == "stale":
                outcome = "ignored"  # not newer than what is stored: the import would not overwrite it
        tally.counts[outcome] += 1


def _import(imp, token, progress):
    tally = Tally()
    reader, batches = scan(imp, tally)
    connection_id, import_id, size = imp.connection_id, imp.id, imp.size
    for batch in batches:
        event_ids = _store_rows(connection_id, import_id, batch, receipt.lifecycle_mode(imp.connection.lifecycle))
        for outcome, n in normalize.process(event_ids).items():
            if outcome in PROCESS_OUTCOMES:
                tally.counts[PROCESS_OUTCOMES[outcome]] += n
        _save(import_id, token, **_progress(tally, reader))
        progress("importing", tally.rows, reader.bytes_read, size)
    csv_complete.complete(db.session.get(CsvImport, import_id), tally, token)


def line_key(import_id, line):
    """The dedupe key of one row's event: unique per import and line."""
    return f"csv:{import_id}:line:{line}"


def _store_rows(connection_id, import_id, batch, mode):
    """Insert each row's webhook event + raw event (skipping those already stored); their ids, committed."""
    if not batch:
        return []
    keys = {line_key(import_id, r.line): r for r in batch}
    events = WebhookEvent.__table__.c
    found = dict(db.session.execute(select(events.dedupe_key, events.id).where(
        events.connection_id == connection_id, events.dedupe_key.in_(list(keys)))).all())
    now, sensitive = utcnow(), current_app.config["PAYLOAD_SENSITIVE_KEYS"]
    id_paths = definition("manual_csv_import")["object_id_paths"]
    new, bodies = [], {}
    for key, r in keys.items():
        if key in found:
            continue
        bodies[key] = body = json.dumps(r.payload, separators=(",", ":")).encode()
        new.append({
            "connection_id": connection_id, "source": "csv", "mode": mode, "dedupe_key": key, "event_type": "row",
            "status": "received", "attempts": 0, "duplicate_count": 0, "received_at": now,
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "payload_summary": summaries.summarize(r.payload, event_type="row", object_id_paths=id_paths,
                                                   sensitive_keys=sensitive, body_size=len(body)),
        })
    if new:
        db.session.execute(insert(WebhookEvent.__table__), new)
        ids = dict(db.session.execute(select(events.dedupe_key, events.id).where(
            events.connection_id == connection_id, events.dedupe_key.in_(list(bodies)))).all())
        db.session.execute(insert(RawEvent.__table__), [{
            "webhook_event_id": ids[key], "connection_id": connection_id, "content_type": "application/json",
            "headers": {"X-Zarts-Csv-Import": str(import_id), "X-Zarts-Csv-Line": str(keys[key].line)},
            "body": body, "received_at": now} for key, body in bodies.items()])
        found.update(ids)
    db.session.commit()
    return sorted(found.values())
