"""The end of an import: final counts, the csv_import.completed event, the report note and the task.

Counts of what became of the stored rows are read back from the database (each row's event and
its outcome), so they are right even when the import was resumed after a crash. Everything is
written in one transaction with the import's status, so it happens once.
"""
import hashlib
import json

from flask import current_app
from sqlalchemy import func, insert, select, update

from ...extensions import db
from ...models import AdminTask, CsvImport, RawEvent, WebhookEvent, utcnow
from ...providers import definition
from ..ingest import receipt, summaries
from ..mapping import rules
from ..mapping.versions import effective_mapping
from ..pipeline import normalize
from ..proof import notes
from .csv_rows import COUNT_KEYS, ROW_ERROR_LIMIT

COMPLETED = "csv_import.completed"
TITLE = "Manual CSV Import Completed"


def complete(imp, tally, token):
    """Finish the import (status done) and tell everyone: event, report note, admin task when rows failed.

    False (nothing written) when another job has taken the import over.
    """
    table = CsvImport.__table__
    mine = db.session.execute(update(table).where(table.c.id == imp.id, table.c.claim_token == token)
                              .values(status="done"))
    if mine.rowcount != 1:
        db.session.rollback()
        return False
    now = utcnow()
    counts, failed_rows = _final_counts(imp, tally)
    errors = list(tally.errors)
    for line, reason in failed_rows:
        if len(errors) < ROW_ERROR_LIMIT:
            errors.append({"line": line, "column": "", "value": "", "message": f"normalization failed: {reason}"})
    connection = imp.connection
    imp.status, imp.status_reason, imp.finished_at = "done", None, now
    imp.counts, imp.row_errors, imp.error_count = counts, errors, tally.error_count + len(failed_rows)
    imp.total_rows = imp.done_rows = tally.rows
    imp.claim_token = imp.lease_expires_at = None
    event_id = _completed_event(imp, counts, now)
    imp.completed_event_id = event_id
    object_type = (rules.rule_for(effective_mapping(connection), "row") or {}).get("object_type")
    if receipt.lifecycle_mode(connection.lifecycle) == "live":  # a test import tells the client nothing
        notes.write_for_client(connection, note_title(object_type, tally.rows, counts["failed"]), note_body(counts))
    if counts["failed"]:
        _open_task(imp, connection, counts, now)
    db.session.commit()
    normalize.process([event_id])
    return True


def _final_counts(imp, tally):
    """Counts over every row of the file, and (line, reason) of rows whose normalization failed."""
    events = WebhookEvent.__table__.c
    mine = (events.connection_id == imp.connection_id) & events.dedupe_key.like(f"csv:{imp.id}:line:%")
    counts = dict.fromkeys(COUNT_KEYS, 0)
    for status, outcome, n in db.session.execute(
            select(events.status, events.outcome, func.count()).where(mine).group_by(events.status, events.outcome)):
        if status == "normalized" and outcome in ("created", "updated", "unchanged"):
            counts[outcome] += n
        elif status == "ignored" or (status == "normalized" and outcome == "stale"):
            counts["ignored"] += n
        else:  # dead-lettered, or waiting for a retry: it needs attention either way
            counts["failed"] += n
    failed = []
    if counts["failed"]:
        failed = [(int(key.rsplit(":", 1)[1]), reason or status) for key, status, reason in db.session.execute(
            select(events.dedupe_key, events.status, events.status_reason)
            .where(mine, events.status.not_in(("normalized", "ignored"))).limit(ROW_ERROR_LIMIT))]
    counts["failed"] += tally.invalid
    counts["duplicate"] = tally.duplicate
    return counts, failed


def _completed_event(imp, counts, now):
    """The csv_import.completed event of this import (webhook event + raw event), stored once."""
    key = f"csv:{imp.id}:completed"
    events = WebhookEvent.__table__.c
    existing = db.session.scalar(select(events.id).where(events.connection_id == imp.connection_id,
                                                         events.dedupe_key == key))
    if existing is not None:
        return existing
    payload = {"type": COMPLETED, "title": TITLE, "import_id": imp.id, "filename": imp.filename,
               "completed_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "counts": counts}
    body = json.dumps(payload, separators=(",", ":")).encode()
    summary = summaries.summarize(payload, event_type=COMPLETED, body_size=len(body),
                                  object_id_paths=definition("manual_csv_import")["object_id_paths"],
                                  sensitive_keys=current_app.config["PAYLOAD_SENSITIVE_KEYS"])
    event_id = db.session.execute(insert(WebhookEvent.__table__).values(
        connection_id=imp.connection_id, source="csv", mode=receipt.lifecycle_mode(imp.connection.lifecycle),
        dedupe_key=key, event_type=COMPLETED, status="received",
        attempts=0, duplicate_count=0, payload_summary=summary, received_at=now,
        body_sha256=hashlib.sha256(body).hexdigest(),
    )).inserted_primary_key[0]
    db.session.execute(insert(RawEvent.__table__).values(
        webhook_event_id=event_id, connection_id=imp.connection_id, content_type="application/json",
        headers={"X-Zarts-Csv-Import": str(imp.id)}, body=body, received_at=now))
    return event_id


def note_title(object_type, rows, failed):
    """'Leads file imported: 1,204 rows, 3 need attention' (client-safe: no file names, no internals)."""
    noun = (object_type or "data").replace("_", " ")
    noun = noun[:-1] + "ies" if noun.endswith("y") else noun if noun in ("data",) else noun + "s"
    title = f"{noun.capitalize()} file imported: {rows:,} row{'s' if rows != 1 else ''}"
    return title + (f", {failed:,} need{'s' if failed == 1 else ''} attention" if failed else "")


def note_body(counts):
    """One sentence of counts for the client."""
    parts = [f"{counts['created']:,} new", f"{counts['updated']:,} updated", f"{counts['unchanged']:,} unchanged"]
    if counts["duplicate"]:
        parts.append(f"{counts['duplicate']:,} duplicate row{'s' if counts['duplicate'] != 1 else ''} skipped")
    if counts["ignored"]:
        parts.append(f"{counts['ignored']:,} ignored")
    if counts["failed"]:
        parts.append(f"{counts['failed']:,} could not be read and will be followed up by our team")
    return ", ".join(parts) + "."


def _open_task(imp, connection, counts, now):
    _task(imp, connection, now,
          f"CSV import #{imp.id} on {connection.name}: {counts['failed']:,} row(s) need attention",
          f"{imp.filename}: {counts['failed']:,} of {imp.total_rows:,} rows failed. "
          f"Download the row errors from the import page (/admin/imports/{imp.id}), fix them and upload "
          "the corrected rows.")


def _task(imp, connection, now, title, detail):
    """The owner's task about this import (one per import)."""
    open_key = f"csv_import:{imp.id}"
    if db.session.scalar(select(AdminTask.id).where(AdminTask.open_key == open_key)) is not None:
        return
    db.session.add(AdminTask(connection_id=connection.id, assignee_id=connection.owner_id, kind="csv_import",
                             open_key=open_key, status="open", created_at=now, title=title[:255], detail=detail))


def hold_delivered(imp, reason):
    """A delivered file the saved column mapping cannot read waits (uploaded, with the reason) for the
    owner to map its columns; a task says so."""
    connection = imp.connection
    imp.status_reason = reason[:2000]
    _task(imp, connection, utcnow(), f"CSV file delivered to {connection.name} could not be imported",
          f"{imp.filename} (import #{imp.id}) arrived by webhook, but the saved column mapping cannot read it: "
          f"{reason[:1000]}. Fix the mapping on the import page (/admin/imports/{imp.id}) and check the file "
          "(dry run), then import it.")
    db.session.commit()
