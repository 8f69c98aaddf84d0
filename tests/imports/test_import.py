"""Importing: rows take the webhook path, re-uploads are idempotent, completion tells everyone."""
import csv
import io
import json

import pytest

from tests.factories import drain
from tests.imports.conftest import HEADER, check, do_import, finish, import_file, leads, leads_file, upload
from zarts.extensions import db
from zarts.jobs.imports import run_csv_import
from zarts.models import (
    AdminTask,
    CsvImport,
    MetricValue,
    NormalizedEvent,
    RawEvent,
    ReportNote,
    WebhookEvent,
    utcnow,
)
from zarts.services import DomainError
from zarts.services.console import events as event_service
from zarts.services.imports import csv_import, csv_rows, csv_run
from zarts.services.pipeline import normalize


def lead_records():
    return {r.external_id: r for r in db.session.scalars(db.select(NormalizedEvent).filter_by(object_type="lead"))}


def test_each_row_becomes_a_raw_event_normalized_like_a_webhook(app, connection):
    imp = import_file(connection, leads_file(3))
    assert imp.status == "done" and imp.counts["created"] == 3
    rows = db.session.scalars(db.select(WebhookEvent).filter_by(event_type="row").order_by(WebhookEvent.id)).all()
    assert [e.dedupe_key for e in rows] == [f"csv:{imp.id}:line:{n}" for n in (2, 3, 4)]
    assert {(e.source, e.status, e.outcome) for e in rows} == {("csv", "normalized", "created")}
    raw = db.session.scalar(db.select(RawEvent).filter_by(webhook_event_id=rows[0].id))
    assert json.loads(raw.body) == {"type": "row", "row_key": "L-1", "row": {
        "email": "lead1@example.com", "name": "Lead 1", "stage": "qualified", "value": "100.00", "created": "2026-11-01"}}
    assert rows[0].payload_summary["object_ids"] == {"row_key": "L-1"}
    assert rows[0].payload_summary["preview"]["row"]["email"] == "•••"  # summaries mask as for webhooks
    record = rows[0].normalized_event
    assert (record.object_type, record.external_id, record.source, record.status) == ("lead", "L-1", "csv", "qualified")
    assert {m.name for m in db.session.scalars(db.select(MetricValue).filter_by(normalized_event_id=record.id))} == {
        "leads", "pipeline_value"}


def test_the_same_file_again_is_flagged_needs_confirmation_and_changes_nothing(app, connection):
    data = leads_file(5)
    first = import_file(connection, data)
    before = {k: (r.id, r.fields, r.status, r.action, r.updated_at) for k, r in lead_records().items()}
    metrics_before = db.session.scalar(db.select(db.func.count(MetricValue.id)))
    second = check(upload(connection, data))
    assert csv_import.earlier_import(second).id == first.id
    assert csv_import.import_dict(second)["already_imported"] == {
        "import_id": first.id, "date": first.finished_at.strftime("%Y-%m-%d")}
    with pytest.raises(DomainError, match=f"already imported on {first.finished_at:%Y-%m-%d}"):
        csv_import.confirm(second)
    db.session.rollback()
    second = do_import(db.session.get(CsvImport, second.id), force=True)
    assert second.status == "done" and second.forced
    assert second.counts == {"created": 0, "updated": 0, "unchanged": 5, "failed": 0, "duplicate": 0, "ignored": 0}
    db.session.expire_all()
    assert {k: (r.id, r.fields, r.status, r.action, r.updated_at) for k, r in lead_records().items()} == before
    # the only new normalized record is the second import's own csv_import summary
    assert db.session.scalar(db.select(db.func.count(NormalizedEvent.id))) == 5 + 2
    assert db.session.scalar(db.select(db.func.count(MetricValue.id))) == metrics_before + 2


def test_a_changed_file_updates_rows_instead_of_duplicating_them(app, connection):
    import_file(connection, leads_file(3))
    changed = (HEADER + leads(1) + leads(1, start=2, stage="won") + leads(1, start=3, value="250") + leads(1, start=4)).encode()
    imp = import_file(connection, changed)
    assert (imp.counts["created"], imp.counts["updated"], imp.counts["unchanged"]) == (1, 2, 1)
    records = lead_records()
    assert len(records) == 4 and records["L-2"].status == "won" and records["L-3"].fields["value"] == "250"


def test_completion_event_report_note_and_task_carry_the_counts(app, connection):
    data = (HEADER + leads(3)
            + leads(1, start=2)                      # duplicate of L-2
            + "L-8,broken,X,new,1,2026-11-01\n"      # invalid
            + "L-9,ok@example.com,X,nope,1,2026-11-01\n").encode()
    imp = import_file(connection, data)
    expected = {"created": 3, "updated": 0, "unchanged": 0, "failed": 2, "duplicate": 1, "ignored": 0}
    assert imp.counts == expected and imp.total_rows == 6
    event = db.session.get(WebhookEvent, imp.completed_event_id)
    assert (event.event_type, event.connection_id, event.source, event.status) == (
        "csv_import.completed", connection.id, "csv", "normalized")
    payload = json.loads(event.raw_event.body)
    assert payload["counts"] == expected and payload["title"] == "Manual CSV Import Completed"
    assert payload["import_id"] == imp.id and payload["filename"] == "leads.csv"
    record = event.normalized_event
    assert (record.object_type, record.external_id, record.status) == ("csv_import", str(imp.id), "completed_with_errors")
    assert {k: record.fields[k] for k in expected} == expected and record.fields["filename"] == "leads.csv"
    listed = event_service.list_events(connection_id=connection.id)
    assert listed[0]["id"] == event.id and listed[0]["event_type"] == "csv_import.completed"

    note = db.session.scalar(db.select(ReportNote).filter_by(connection_id=connection.id))
    assert note.title == "Leads file imported: 6 rows, 2 need attention"
    assert note.body == "3 new, 0 updated, 0 unchanged, 1 duplicate row skipped, 2 could not be read and will be followed up by our team."
    assert note.client_id == connection.client_id and "leads.csv" not in note.title + note.body
    assert (note.status, note.visible) == ("draft", False)  # the owner reviews what zarts writes for a client

    task = db.session.scalar(db.select(AdminTask).filter_by(kind="csv_import"))
    assert task.open_key == f"csv_import:{imp.id}" and task.assignee_id == connection.owner_id
    assert task.status == "open" and "2 row(s) need attention" in task.title


def test_a_clean_import_opens_no_task(app, connection):
    imp = import_file(connection, leads_file(2))
    assert imp.counts["failed"] == 0
    assert db.session.scalar(db.select(db.func.count(AdminTask.id)).filter_by(kind="csv_import")) == 0
    note = db.session.scalar(db.select(ReportNote))
    assert note.title == "Leads file imported: 2 rows"


def test_running_the_job_again_changes_nothing(app, connection):
    imp = import_file(connection, leads_file(3))
    counts, events = imp.counts, db.session.scalar(db.select(db.func.count(WebhookEvent.id)))
    assert run_csv_import(imp.id) == {"import_id": imp.id, "ran": False}
    imp = finish(imp.id)
    assert imp.counts == counts and db.session.scalar(db.select(db.func.count(WebhookEvent.id))) == events
    assert db.session.scalar(db.select(db.func.count(ReportNote.id))) == 1


def test_a_pass_held_by_another_job_is_left_alone(app, connection):
    imp = check(upload(connection, leads_file(2)))
    imp.status, imp.claim_token = "importing", "someone-else"
    imp.lease_expires_at = utcnow().replace(year=utcnow().year + 1)
    db.session.commit()
    assert csv_run.run(imp.id)["ran"] is False
    assert not csv_import.is_stalled(db.session.get(CsvImport, imp.id))


def test_an_import_stopped_by_an_error_resumes_without_duplicating(app, connection, monkeypatch):
    monkeypatch.setattr(csv_rows, "BATCH_ROWS", 2)
    real, calls = normalize.process, []

    def flaky(event_ids):
        calls.append(event_ids)
        if len(calls) == 2:
            raise RuntimeError("worker lost its database")
        return real(event_ids)

    monkeypatch.setattr(normalize, "process", flaky)
    imp = do_import(check(upload(connection, leads_file(5))))
    assert imp.status == "importing" and "stopped by an error (RuntimeError)" in imp.status_reason
    assert csv_import.is_stalled(imp)
    csv_import.resume(imp)
    imp = finish(imp.id)
    assert imp.status == "done"
    assert imp.counts == {"created": 5, "updated": 0, "unchanged": 0, "failed": 0, "duplicate": 0, "ignored": 0}
    assert db.session.scalar(db.select(db.func.count(WebhookEvent.id)).filter_by(event_type="row")) == 5
    assert len(lead_records()) == 5


def test_progress_is_committed_batch_by_batch(app, connection, monkeypatch):
    monkeypatch.setattr(csv_rows, "BATCH_ROWS", 3)
    seen = []
    real = csv_run._save

    def spy(import_id, token, **values):
        if "done_rows" in values:
            seen.append(values["done_rows"])
        return real(import_id, token, **values)

    monkeypatch.setattr(csv_run, "_save", spy)
    do_import(check(upload(connection, leads_file(7))))
    assert seen == [3, 6, 7, 7, 3, 6, 7]  # dry run (+ its final save), then the import


def test_row_errors_download_escapes_formulas(app, connection):
    data = (HEADER
            + "L-1,=1+2,X,new,1,2026-11-01\n"
            + "L-2,+1 555,X,new,1,2026-11-01\n"
            + "L-3,-2,X,new,1,2026-11-01\n"
            + "L-4,@SUM(A1),X,new,1,2026-11-01\n").encode()
    imp = check(upload(connection, data))
    rows = list(csv.reader(io.StringIO("".join(csv_import.errors_csv(imp)))))
    assert rows[0] == ["line", "column", "value", "message", *HEADER.strip().split(",")]
    assert [r[2] for r in rows[1:]] == ["'=1+2", "'+1 555", "'-2", "'@SUM(A1)"]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


@pytest.mark.parametrize("value, shown", [
    ("=cmd", "'=cmd"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), ("a=b", "a=b"), (12, "12"), (None, ""),
])
def test_safe_cell(value, shown):
    assert csv_import.safe_cell(value) == shown


def test_paused_disconnected_and_non_csv_connections_take_no_files(app, connection):
    from tests.factories import make_connection

    stripe, _ = make_connection("stripe")
    with pytest.raises(DomainError, match="not a CSV import"):
        upload(stripe, leads_file(1))
    connection.lifecycle = "paused"
    db.session.commit()
    with pytest.raises(DomainError, match="paused"):
        upload(connection, leads_file(1))


def test_rows_the_mapping_ignores_are_counted_as_ignored(app, connection):
    from zarts.services.mapping.versions import effective_mapping, save_mapping

    mapping = dict(effective_mapping(connection))
    mapping["events"] = {k: v for k, v in mapping["events"].items() if k != "row"}
    mapping["event_types_ignored"] = ["row"]
    save_mapping(connection, mapping, None, "rows are not wanted here")
    imp = import_file(connection, leads_file(2))
    assert imp.counts["ignored"] == 2 and imp.counts["created"] == 0
    drain()


def test_the_key_set_finds_every_repeat_across_merges(monkeypatch):
    monkeypatch.setattr(csv_rows.KeySet, "MERGE_AT", 7)
    keys = csv_rows.KeySet()
    assert all(keys.add(f"K-{i}") for i in range(100))
    assert not any(keys.add(f"K-{i}") for i in range(100))
    assert len(keys.sorted) + len(keys.recent) == 100 and list(keys.sorted) == sorted(keys.sorted)
