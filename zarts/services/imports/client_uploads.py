"""A client's own CSV uploads in the portal: to their connections that allow it, with the column
mapping the agency saved, a dry run first, then the import. A client sees only the files their
own users uploaded, never another client's, and every message is in plain words."""
from sqlalchemy import select

from ...extensions import db
from ...models import Connection, CsvImport, Provider
from ...providers import definition
from .. import DomainError
from ..ingest import receipt
from ..mapping import csv_columns
from ..mapping.versions import effective_mapping
from . import csv_import

RUNNING_TOO_LONG = "This is taking longer than expected; your team has been told and will pick it up."


def upload_connections(client_id):
    """The client's CSV connections their users may upload files to, by name."""
    return list(db.session.scalars(
        select(Connection).join(Provider).where(
            Connection.client_id == client_id, Provider.kind == "csv", Connection.client_upload.is_(True),
            Connection.lifecycle.not_in(("paused", "disconnected")))
        .order_by(Connection.name, Connection.id)))


def source_label(connection):
    """A connection as the client knows it: the provider's plain name ("Uploaded spreadsheet")."""
    return (definition(connection.provider.key) or {}).get("plain_name") or connection.provider.name


def recent(client_id, limit=20):
    """The files this client's users uploaded, newest first."""
    return list(db.session.scalars(
        select(CsvImport).join(Connection, CsvImport.connection_id == Connection.id)
        .where(Connection.client_id == client_id, CsvImport.source == "portal")
        .order_by(CsvImport.id.desc()).limit(limit)))


def get(client_id, import_id):
    """One of this client's uploads, or None (another client's import is simply not found)."""
    return db.session.scalar(
        select(CsvImport).join(Connection, CsvImport.connection_id == Connection.id)
        .where(CsvImport.id == import_id, Connection.client_id == client_id, CsvImport.source == "portal"))


def upload(user, connection_id, filename, stream):
    """Store the client's file and start its dry run with the saved column mapping.

    DomainError (nothing stored) when the connection is not one of theirs that takes uploads or the
    file is not usable CSV; a file whose columns the mapping cannot read is kept as failed, saying why.
    """
    allowed = {c.id for c in upload_connections(user.client_id)}
    if connection_id not in allowed:
        raise DomainError("Choose where the file goes." if not connection_id else
                          "That source does not take uploads; ask your team.")
    imp = csv_import.upload(connection_id, filename, stream, actor=user, source="portal")
    section = csv_import.proposed_section(imp)
    if problems := _plain_problems(imp, section):
        imp.status, imp.status_reason = "failed", " ".join(problems)
        imp.finished_at = imp.created_at
        db.session.commit()
        return imp
    csv_import.start_check(imp, section, actor=user, save=False)
    return imp


def _plain_problems(imp, section):
    """What stops the file from being read, as the client would say it; [] when nothing."""
    if not csv_import.section_problems(imp, section):
        return []
    problems = []
    if section.get("key") not in imp.headers:
        names = [n for n in (effective_mapping(imp.connection).get("csv", {}).get("key"),
                             *csv_columns.KEY_NAMES) if n]
        problems.append("Your file needs a column with each row's own id, named "
                        + " or ".join(f"'{n}'" for n in dict.fromkeys(names)) + ".")
    for target, spec in section["columns"].items():
        if spec.get("required") and spec.get("column") not in imp.headers:
            problems.append(f"Your file needs a '{spec.get('column') or target}' column.")
    return problems or ["Your file's columns do not match what your team set up; ask them to look at it."]


def confirm(user, imp):
    """Import the checked file (a job); DomainError in plain words when it cannot be."""
    if imp.status != "dry_run":
        raise DomainError("This file is not ready to import." if imp.running else
                          "This file cannot be imported now: upload it again.")
    earlier = csv_import.earlier_import(imp)
    if earlier is not None:
        day = (earlier.finished_at or earlier.created_at).strftime("%b %d, %Y")
        raise DomainError(f"This exact file was already imported on {day}; nothing new to add.")
    csv_import.confirm(imp, actor=user)


def status_words(imp):
    """(headline, sentence) for the client: what is happening to their file."""
    if imp.running and csv_import.is_stalled(imp):
        return "Taking longer than expected", RUNNING_TOO_LONG
    if imp.status == "checking":
        return "Checking your file", "Nothing is saved until you confirm the import."
    if imp.status == "importing":
        return "Importing", "Your rows are being added; this page updates by itself."
    if imp.status == "dry_run":
        return "Checked: ready to import", "Nothing has been saved yet. Look at the counts, then import."
    if imp.status == "done" and receipt.lifecycle_mode(imp.connection.lifecycle) == "test":
        return "Imported", "Your rows are in. Your team is still setting this source up: your cards show it once it is live."
    if imp.status == "done":
        return "Imported", "Your rows are in; your cards update within a few minutes."
    if imp.status == "failed":
        return "Could not be read", imp.status_reason or "The file could not be read as CSV."
    return "Uploaded", imp.status_reason or "Waiting to be checked."
