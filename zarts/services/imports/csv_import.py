"""Manual CSV imports, the admin's side: upload, column mapping, dry run, confirm, report.

An import moves uploaded -> checking -> dry_run -> importing -> done (or failed). The two passes
over the file (dry run and import) run as a job (see csv_run); this module decides everything
the admin asks for and what the views and the CLI show.
"""
import csv
import io

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from ... import dispatch
from ...extensions import db
from ...models import Connection, CsvImport, Provider, utcnow
from .. import DomainError, audit
from ..ingest import masking
from ..mapping import csv_columns
from ..mapping.versions import effective_mapping, save_mapping
from . import csv_complete, csv_parse, csv_run
from .csv_rows import COUNT_KEYS, ROW_ERROR_LIMIT

# The dry run speaks of what would happen.
DRY_RUN_LABELS = {"created": "new", "updated": "update", "unchanged": "unchanged",
                  "duplicate": "duplicate", "failed": "invalid", "ignored": "ignored"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
STALL_SECONDS = 120  # a pass no job has picked up after this long can be resumed


def csv_connections():
    """Connections a file can be uploaded to: manual CSV connections that take data."""
    return list(db.session.scalars(
        select(Connection).join(Provider).where(Provider.kind == "csv", Connection.lifecycle.not_in(
            ("paused", "disconnected"))).order_by(Connection.name)))


def get_connection(connection_id):
    """A connection that accepts CSV files now, or DomainError saying why not."""
    connection = db.session.get(Connection, connection_id) if connection_id else None
    if connection is None:
        raise DomainError(f"unknown connection {connection_id}" if connection_id else "choose a connection")
    if connection.provider.kind != "csv":
        raise DomainError(f"connection {connection.id} is a {connection.provider.name} connection, not a CSV import")
    if connection.lifecycle in ("paused", "disconnected"):
        raise DomainError(f"connection {connection.id} is {connection.lifecycle}; it takes no imports")
    return connection


def upload(connection_id, filename, stream, actor=None, source=None, delivery_id=None):
    """Store an uploaded file and read its header; FileProblem (nothing stored) when it is not usable CSV.

    source: how it came in (models.IMPORT_SOURCES); by default "admin" with an actor, "cli" without.
    A webhook delivery (delivery_id) is imported right after its dry run, as nobody confirms it.
    """
    connection = get_connection(connection_id)
    filename = (filename or "upload.csv").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or "upload.csv"
    imp = CsvImport(connection_id=connection.id, actor_id=getattr(actor, "id", None), filename=filename,
                    source=source or ("admin" if actor is not None else "cli"), delivery_id=delivery_id,
                    auto_import=delivery_id is not None,
                    sha256="", size=0, encoding="utf-8", delimiter=",", created_at=utcnow())
    try:
        db.session.add(imp)
        db.session.flush()
        stored = csv_parse.store(imp.id, stream, current_app.config["CSV_MAX_BYTES"])
        imp.sha256, imp.size, imp.encoding = stored.sha256, stored.size, stored.encoding
        imp.delimiter = csv_parse.detect_delimiter(imp.id, imp.encoding)
        imp.headers = csv_parse.read_header(imp.id, imp.encoding, imp.delimiter)
        audit.record(actor, "csv_import.upload", "csv_import", imp.id, "", None,
                     {"connection_id": connection.id, "filename": filename, "sha256": imp.sha256, "size": imp.size,
                      "source": imp.source})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return imp


def get_import(import_id):
    """The import, or DomainError."""
    imp = db.session.get(CsvImport, import_id)
    if imp is None:
        raise DomainError(f"unknown import {import_id}")
    return imp


def recent_imports(connection_id=None, before_id=None, limit=50):
    """Newest imports first (keyset by id), optionally for one connection."""
    query = select(CsvImport).options(selectinload(CsvImport.actor), selectinload(CsvImport.connection).joinedload(
        Connection.client)).order_by(CsvImport.id.desc()).limit(limit)
    if connection_id:
        query = query.where(CsvImport.connection_id == connection_id)
    if before_id:
        query = query.where(CsvImport.id < before_id)
    return list(db.session.scalars(query))


earlier_import = csv_run.earlier_import


def proposed_section(imp):
    """The column mapping to show for this file: the one it was checked with, else the saved one matched to it."""
    if imp.columns:
        return imp.columns
    return csv_columns.automatch(imp.headers, effective_mapping(imp.connection))


def section_problems(imp, section):
    """Problems with using this section for this file ([] when it can be checked)."""
    if not section.get("key"):
        names = ", ".join(csv_columns.KEY_NAMES)
        return [f"choose the column that holds each row's key (its natural key): no column is called {names}"]
    return csv_columns.section_problems(section) or csv_columns.file_problems(imp.headers, section)


def start_check(imp, section, actor=None, save=True, inline=False, progress=None):
    """Check the file with this column mapping (the dry run, as a job); save the mapping for next time."""
    if imp.status not in ("uploaded", "dry_run"):
        raise DomainError(f"import {imp.id} is {imp.status}; it cannot be checked again")
    if problems := section_problems(imp, section):
        raise DomainError("; ".join(problems))
    current = effective_mapping(imp.connection)
    if save and current.get("csv") != section:
        save_mapping(imp.connection, {**current, "csv": section}, actor,
                     reason=f"CSV column mapping saved with import #{imp.id} ({imp.filename})")
    imp.columns, imp.status, imp.status_reason = section, "checking", None
    if actor is not None:  # someone is looking after it now: they confirm the import themselves
        imp.auto_import = False
    imp.counts, imp.row_errors, imp.error_count, imp.done_rows, imp.done_bytes = {}, [], 0, 0, 0
    imp.started_at, imp.checked_at = utcnow(), None
    db.session.commit()
    _hand_over(imp.id, inline, progress)


def confirm(imp, actor=None, force=False, inline=False, progress=None):
    """Start importing a dry-run-checked file; an already imported file needs force."""
    if imp.status != "dry_run":
        raise DomainError(f"import {imp.id} is {imp.status}; only a checked file (dry run) can be imported")
    csv_run.lock_connection(imp.connection_id)
    earlier = earlier_import(imp)
    if earlier is not None and not force:
        raise DomainError(f"this file was already imported on {_day(earlier)} (import #{earlier.id}); "
                          "confirm that it should be imported again")
    imp.status, imp.forced, imp.started_at, imp.status_reason = "importing", earlier is not None, utcnow(), None
    imp.done_rows, imp.done_bytes = 0, 0
    audit.record(actor, "csv_import.confirm", "csv_import", imp.id, "", {"status": "dry_run"},
                 {"status": "importing", "forced": imp.forced, "counts": imp.counts})
    db.session.commit()
    _hand_over(imp.id, inline, progress)


def resume(imp, actor=None):
    """Hand a stalled pass (its worker died or the queue was down) to a job again."""
    if not imp.running:
        raise DomainError(f"import {imp.id} is {imp.status}; there is nothing to resume")
    if not is_stalled(imp):
        raise DomainError(f"import {imp.id} is still running")
    audit.record(actor, "csv_import.resume", "csv_import", imp.id, "", None, {"status": imp.status})
    db.session.commit()
    _hand_over(imp.id, False)


def _hand_over(import_id, inline, progress=None):
    """Run the waiting pass here (the CLI waits for its answer) or as a job."""
    if inline:
        csv_run.run(import_id, progress)
    else:
        if not dispatch.submit("run_csv_import", import_id):
            db.session.execute(update(CsvImport.__table__).where(CsvImport.__table__.c.id == import_id).values(
                status_reason="the job queue was unreachable; resume to try again"))
            db.session.commit()


def script(imp, dry_run=False, force=False, ignore_unknown=False, columns=None, key=None, progress=None):
    """The CLI's whole run over an uploaded file: saved column mapping, dry run, then (unless dry_run) import.

    columns {target: column} and key override the saved column mapping; an import (not a dry run)
    with them saves the mapping for next time, as the upload page does.
    """
    try:
        section = with_choices(imp, proposed_section(imp), columns or {}, key)
    except DomainError as exc:
        _refuse(imp, str(exc))
    if ignore_unknown:
        section["ignore"] = [h for h, _ in csv_columns.kept_columns(imp.headers, section)] + section["ignore"]
    earlier = earlier_import(imp)
    problems = section_problems(imp, section)
    if not problems and earlier is not None and not (force or dry_run):
        problems = [f"this file was already imported on {_day(earlier)} (import #{earlier.id}); "
                    "pass --force to import it again"]
    if problems:
        _refuse(imp, "; ".join(problems))
    start_check(imp, section, save=bool(columns or key) and not dry_run, inline=True, progress=progress)
    db.session.refresh(imp)
    if imp.status == "dry_run" and not dry_run:
        confirm(imp, force=force, inline=True, progress=progress)
        db.session.refresh(imp)
    if imp.status not in ("dry_run", "done"):
        raise DomainError(f"import {imp.id}: {imp.status_reason or imp.status}")
    return imp


def with_choices(imp, section, columns, key=None):
    """The section with these {target: column} choices and this key column; DomainError naming what is unknown."""
    section = {**section, "columns": {t: dict(s) for t, s in section["columns"].items()}}
    headers = ", ".join(f"'{h}'" for h in imp.headers[:30])
    for target, column in columns.items():
        if target not in section["columns"]:
            known = ", ".join(sorted(section["columns"])) or "none"
            raise DomainError(f"unknown target '{target}' (this mapping's targets: {known})")
        if column not in imp.headers:
            raise DomainError(f"column '{column}' (for '{target}') is not in the file; its columns: {headers}")
        section["columns"][target]["column"] = column
    if key is not None:
        if key not in imp.headers:
            raise DomainError(f"key column '{key}' is not in the file; its columns: {headers}")
        section["key"] = key
    return section


def start_delivered(imp):
    """Check and import a file a webhook delivered, with the saved column mapping; a file the mapping
    cannot read waits for its owner, with a task."""
    section = proposed_section(imp)
    if problems := section_problems(imp, section):
        csv_complete.hold_delivered(imp, "; ".join(problems))
        return
    start_check(imp, section, save=False)


def _refuse(imp, reason):
    """Keep the refused upload on record as failed, then tell the caller why."""
    imp.status, imp.status_reason, imp.finished_at = "failed", reason[:2000], utcnow()
    db.session.commit()
    raise DomainError(reason)


def is_stalled(imp, grace_seconds=STALL_SECONDS):
    """Running, but no job holds it: its worker died, or no worker picked it up in time."""
    if not imp.running:
        return False
    now = utcnow()
    if imp.lease_expires_at is not None:
        return imp.lease_expires_at < now
    if imp.status_reason:  # its job stopped and said why
        return True
    return imp.started_at is None or (now - imp.started_at).total_seconds() > grace_seconds


def dry_run_counts(counts):
    """Counts under the dry run's names: new, update, unchanged, duplicate, invalid, ignored."""
    return {DRY_RUN_LABELS[k]: counts.get(k, 0) for k in COUNT_KEYS}


def importable_rows(dry_counts):
    """Rows the import would take (new, update, unchanged); the rest of the file is skipped."""
    return dry_counts["new"] + dry_counts["update"] + dry_counts["unchanged"]


def progress(imp):
    """Rows done, total, percent, rate (rows/s) and errors so far, for the progress bar."""
    total = imp.total_rows if imp.status == "importing" else None
    if total:
        percent = min(100, int(imp.done_rows * 100 / total))
    else:  # the dry run learns the total as it goes: measure the bytes read
        percent = min(100, int(imp.done_bytes * 100 / imp.size)) if imp.size else 0
    seconds = (utcnow() - imp.started_at).total_seconds() if imp.started_at else 0
    rate = imp.done_rows / seconds if seconds > 0 else 0
    return {"done": imp.done_rows, "total": total, "percent": percent, "rate": round(rate),
            "errors": imp.error_count}


def import_dict(imp, dry_run=False):
    """The scripting view of an import (one JSON object for the CLI)."""
    earlier = earlier_import(imp)
    counts = dict(imp.counts or {})
    return {
        "import_id": imp.id, "connection_id": imp.connection_id, "status": imp.status,
        "status_reason": imp.status_reason, "filename": imp.filename, "sha256": imp.sha256, "size": imp.size,
        "encoding": imp.encoding, "delimiter": imp.delimiter, "total_rows": imp.total_rows,
        "counts": dry_run_counts(counts) if dry_run else {k: counts.get(k, 0) for k in COUNT_KEYS},
        "error_count": imp.error_count, "errors": (imp.row_errors or [])[:20],
        "already_imported": None if earlier is None else {"import_id": earlier.id, "date": _day(earlier)},
        "completed_event_id": imp.completed_event_id,
    }


def preview_rows(imp, limit=5):
    """The file's first data rows as lists of cells (aligned to imp.headers), values under
    sensitive headers masked; what the admin sees while mapping columns."""
    if not imp.headers:
        return []
    masked = _masked_columns(imp.headers)
    _, rows = csv_parse.data_records(imp.id, imp.encoding, imp.delimiter)
    preview = []
    try:
        for _, cells in rows:
            if not isinstance(cells, csv_parse.BadRecord):
                preview.append(_shown_cells(cells, len(imp.headers), masked))
            if len(preview) >= limit:
                break
    except csv_parse.FileProblem:
        pass  # the dry run reports it; the preview shows the rows before it
    return preview


def errors_csv(imp):
    """The stored row errors as CSV lines (a generator), each with its row as the file had it (values
    under sensitive headers masked); cells that could run as formulas are escaped."""
    errors = imp.row_errors or []
    headers = list(imp.headers or [])
    rows = [["line", "column", "value", "message", *headers]]
    by_line = {}
    for error in errors:
        by_line.setdefault(error.get("line"), []).append(error)
    originals = _rows_at(imp, set(by_line)) if headers and by_line else {}
    for error in errors:
        rows.append([error.get("line"), error.get("column"), error.get("value"), error.get("message"),
                     *originals.get(error.get("line"), [])])
    if imp.error_count > len(errors):
        rows.append(["", "", "", f"{imp.error_count - len(errors):,} more errors not listed "
                                 f"(the first {ROW_ERROR_LIMIT:,} are kept)"])
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        yield out.getvalue()
        out.seek(0)
        out.truncate()


def _rows_at(imp, lines):
    """{line: cells} for these lines of the file, masked like the preview (one pass over the file)."""
    masked, found, last = _masked_columns(imp.headers), {}, max(line for line in lines if line is not None)
    _, rows = csv_parse.data_records(imp.id, imp.encoding, imp.delimiter)
    try:
        for line, cells in rows:
            if line in lines and not isinstance(cells, csv_parse.BadRecord):
                found[line] = _shown_cells(cells, len(imp.headers), masked)
            if line >= last:
                break
    except csv_parse.FileProblem:
        pass  # rows past an unreadable line keep their error without the original
    return found


def _masked_columns(headers):
    keys = current_app.config["PAYLOAD_SENSITIVE_KEYS"]
    return {i for i, header in enumerate(headers) if masking.is_sensitive(header, keys)}


def _shown_cells(cells, width, masked):
    cells = list(cells[:width]) + [""] * (width - len(cells))
    return [masking.MASK if i in masked and cell else cell for i, cell in enumerate(cells)]


def safe_cell(value):
    """A spreadsheet cell that cannot start a formula: text starting with = + - @ (or tab/CR) gets a quote."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_START) else text


def _day(imp):
    return (imp.finished_at or imp.started_at or imp.created_at).strftime("%Y-%m-%d")
