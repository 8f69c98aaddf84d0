"""Helpers for the CSV import tests: a manual_csv_import connection and files to upload."""
import io

import pytest

from tests.factories import drain, make_connection
from zarts.extensions import db
from zarts.models import CsvImport
from zarts.services.imports import csv_import

HEADER = "row_key,email,name,stage,value,created\n"


def leads(n, start=1, stage="qualified", value="100.00"):
    """n valid lead rows (no header)."""
    return "".join(f"L-{i},lead{i}@example.com,Lead {i},{stage},{value},2026-11-01\n" for i in range(start, start + n))


def leads_file(n=3, **kwargs):
    return (HEADER + leads(n, **kwargs)).encode()


@pytest.fixture
def connection(app):
    """A manual_csv_import connection (its owner is an admin)."""
    return make_connection("manual_csv_import", reason="Leads from the client's CRM export", live=True)[0]


def upload(connection, data, filename="leads.csv"):
    """Store a file as an import of the connection (services, no HTTP)."""
    return csv_import.upload(connection.id, filename, io.BytesIO(data))


def check(imp, section=None):
    """Run the dry run with the proposed (or given) column mapping; the import, refreshed."""
    csv_import.start_check(imp, section or csv_import.proposed_section(imp))
    return finish(imp.id)


def do_import(imp, force=False):
    """Confirm a checked import and run it; the import, refreshed."""
    csv_import.confirm(imp, force=force)
    return finish(imp.id)


def finish(import_id):
    """Run queued jobs (Redis) and reload the import."""
    drain()
    db.session.expire_all()
    return db.session.get(CsvImport, import_id)


def import_file(connection, data, filename="leads.csv", force=False):
    """Upload, dry run and import a file; the finished import."""
    return do_import(check(upload(connection, data, filename)), force=force)
