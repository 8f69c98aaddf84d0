"""The dry run: every count and the first row errors, without writing a normalized record."""
from tests.imports.conftest import HEADER, check, do_import, leads, leads_file, upload
from zarts.extensions import db
from zarts.models import NormalizedEvent, RawEvent, WebhookEvent
from zarts.services.imports import csv_import


def counts_of(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_dry_run_counts_new_update_unchanged_duplicate_and_invalid(app, connection):
    do_import(check(upload(connection, leads_file(4))))  # L-1..L-4 exist now
    before = (counts_of(NormalizedEvent), counts_of(WebhookEvent), counts_of(RawEvent))
    data = (HEADER
            + leads(2)                                   # L-1, L-2: unchanged
            + leads(1, start=3, stage="won")             # L-3: update
            + leads(2, start=10)                         # L-10, L-11: new
            + leads(1, start=10, stage="lost")           # L-10 again: duplicate in the file
            + "L-20,bad-email,X,new,1,2026-11-01\n"      # invalid
            + "L-21,x@example.com,X,new\n").encode()     # invalid: too few values
    imp = check(upload(connection, data))
    assert imp.status == "dry_run" and imp.total_rows == 8
    assert csv_import.dry_run_counts(imp.counts) == {
        "new": 2, "update": 1, "unchanged": 2, "duplicate": 1, "invalid": 2, "ignored": 0}
    assert (counts_of(NormalizedEvent), counts_of(WebhookEvent), counts_of(RawEvent)) == before
    lines = [(e["line"], e["column"]) for e in imp.row_errors]
    assert lines == [(7, "row_key"), (8, "email"), (9, "")]
    assert imp.row_errors[0]["value"] == "L-10" and "duplicate key" in imp.row_errors[0]["message"]


def test_a_row_older_than_the_stored_record_counts_as_ignored(app, connection):
    do_import(check(upload(connection, leads_file(1))))
    data = leads_file(1, stage="won").replace(b"2026-11-01", b"2026-10-01")  # created earlier than stored
    imp = check(upload(connection, data))
    assert csv_import.dry_run_counts(imp.counts)["ignored"] == 1


def test_row_errors_keep_the_first_thousand_and_count_them_all(app, connection):
    data = (HEADER + "".join(f"L-{i},nope,X,new,1,2026-11-01\n" for i in range(1200))).encode()
    imp = check(upload(connection, data))
    assert imp.counts["failed"] == 1200 and imp.error_count == 1200
    assert len(imp.row_errors) == csv_import.ROW_ERROR_LIMIT
    lines = list(csv_import.errors_csv(imp))
    assert len(lines) == 1 + 1000 + 1 and "200 more errors not listed" in lines[-1]


def test_the_dry_run_can_be_run_again_after_changing_the_mapping(app, connection):
    imp = check(upload(connection, leads_file(2)))
    section = csv_import.proposed_section(imp)
    section["columns"]["value"]["required"] = True
    section["columns"]["stage"] = {"column": "stage", "type": "text", "required": False}
    imp = check(imp, section)
    assert imp.status == "dry_run" and imp.columns["columns"]["value"]["required"] is True


def test_mapping_errors_are_row_errors_too(app, connection):
    section = None
    imp = upload(connection, leads_file(1).replace(b"2026-11-01", b"1900-01-01"))
    imp = check(imp, section)
    assert imp.counts["failed"] == 1
    assert "the mapping cannot use this row: occurred_at" in imp.row_errors[0]["message"]
