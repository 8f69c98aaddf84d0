"""A CSV connection's ingest URL takes the file itself (signed text/csv) and JSON completion events."""
import json
import uuid

import pytest

from tests.factories import drain, make_connection
from tests.imports.conftest import HEADER, leads, leads_file
from zarts.extensions import db
from zarts.models import AdminTask, CsvImport, CsvImportChunk, MetricValue, NormalizedEvent, WebhookEvent
from zarts.services.ingest import signatures


@pytest.fixture
def csv_connection(app):
    """(connection, its whsec_ secret): a live manual CSV connection."""
    return make_connection("manual_csv_import", reason="Leads from the client's CRM export", live=True)


def send(client, connection, secret, data, msg_id=None, content_type="text/csv", filename="crm-export.csv",
         signed_with=None):
    headers = signatures.sign("standard", data, signed_with or secret, msg_id=msg_id or f"msg_{uuid.uuid4().hex}")
    headers["Content-Type"] = content_type
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response = client.post(connection.ingest_path, data=data, headers=headers)
    drain()
    db.session.expire_all()
    return response


def imports():
    return list(db.session.scalars(db.select(CsvImport).order_by(CsvImport.id)))


def records():
    return db.session.scalar(db.select(db.func.count()).select_from(NormalizedEvent).where(
        NormalizedEvent.object_type == "lead"))


def test_a_signed_file_is_stored_answered_202_and_imported_with_its_completion(client, csv_connection):
    connection, secret = csv_connection
    response = send(client, connection, secret, leads_file(3), msg_id="msg_1")
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "accepted"
    imp = db.session.get(CsvImport, body["import_id"])
    assert (imp.status, imp.source, imp.delivery_id, imp.filename) == ("done", "webhook", "msg_1", "crm-export.csv")
    assert imp.actor_id is None and imp.counts["created"] == 3 and records() == 3
    completed = db.session.get(WebhookEvent, imp.completed_event_id)
    assert completed.event_type == "csv_import.completed" and completed.status == "normalized"


def test_a_redelivery_is_imported_exactly_once_by_id_or_by_content(client, csv_connection):
    connection, secret = csv_connection
    data = leads_file(4)
    first = send(client, connection, secret, data, msg_id="msg_a").get_json()["import_id"]
    again = send(client, connection, secret, data, msg_id="msg_a")
    assert again.status_code == 200 and again.get_json() == {
        "status": "duplicate", "import_id": first, "reason": "this delivery was received before"}
    renamed = send(client, connection, secret, data, msg_id="msg_b")  # the sender lost track and sent it anew
    assert renamed.status_code == 200 and renamed.get_json()["import_id"] == first
    assert renamed.get_json()["status"] == "duplicate"
    assert len(imports()) == 1 and records() == 4
    rows = db.session.scalar(db.select(db.func.count()).select_from(WebhookEvent).where(
        WebhookEvent.event_type == "row"))
    assert rows == 4
    changed = send(client, connection, secret, (HEADER + leads(4) + leads(1, start=5)).encode(), msg_id="msg_c")
    assert changed.status_code == 202 and records() == 5


def test_a_forged_or_unsigned_file_is_401_and_stores_nothing(client, csv_connection):
    connection, secret = csv_connection
    forged = send(client, connection, secret, leads_file(3), signed_with="whsec_" + "QUJD" * 8)
    assert forged.status_code == 401 and forged.get_json() == {"error": "no signature matched"}
    unsigned = client.post(connection.ingest_path, data=leads_file(3), headers={"Content-Type": "text/csv"})
    assert unsigned.status_code == 401 and unsigned.get_json() == {"error": "missing signature header"}
    assert imports() == [] and db.session.scalar(db.select(db.func.count()).select_from(CsvImportChunk)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEvent)) == 0
    db.session.refresh(connection)
    assert connection.rejection_count == 2  # counted on the connection, like any refused delivery


def test_an_unusable_file_is_refused_with_the_reason_and_nothing_stored(client, csv_connection):
    connection, secret = csv_connection
    response = send(client, connection, secret, HEADER.encode())
    assert response.status_code == 422 and response.get_json() == {
        "error": "The file has a header row but no data rows."}
    assert send(client, connection, secret, b"%PDF-1.7 ...").status_code == 422
    assert imports() == []


def test_a_file_over_the_limit_is_413(app, client, csv_connection):
    connection, secret = csv_connection
    app.config["CSV_MAX_BYTES"] = 1000
    response = send(client, connection, secret, leads_file(100))
    assert response.status_code == 413 and "larger than 1000 bytes" in response.get_json()["error"]
    assert imports() == []


def test_a_file_the_saved_mapping_cannot_read_waits_with_a_task_for_the_owner(client, csv_connection):
    connection, secret = csv_connection
    response = send(client, connection, secret, b"name,email\nA,a@example.com\n")
    assert response.status_code == 202  # stored: the mapping is ours to fix, not the sender's
    imp = imports()[0]
    assert imp.status == "uploaded" and "row's key" in imp.status_reason
    task = db.session.scalar(db.select(AdminTask).where(AdminTask.open_key == f"csv_import:{imp.id}"))
    assert task.assignee_id == connection.owner_id and "could not be imported" in task.title


def test_rows_with_errors_are_imported_around_and_followed_up(client, csv_connection):
    connection, secret = csv_connection
    data = (HEADER + leads(2) + "L-9,nope,X,new,1,2026-11-01\n").encode()
    imp = db.session.get(CsvImport, send(client, connection, secret, data).get_json()["import_id"])
    assert imp.status == "done" and (imp.counts["created"], imp.counts["failed"]) == (2, 1)
    assert db.session.scalar(db.select(AdminTask).where(AdminTask.open_key == f"csv_import:{imp.id}")) is not None


def test_other_content_types_and_connections(client, csv_connection):
    connection, secret = csv_connection
    stripe, stripe_secret = make_connection("stripe")
    response = send(client, stripe, stripe_secret, leads_file(1))
    assert response.status_code == 415 and response.get_json() == {"error": "content type must be application/json"}
    assert send(client, connection, secret, leads_file(1), content_type="text/plain").status_code == 415
    connection.lifecycle = "paused"
    db.session.commit()
    from zarts.services.ingest import targets

    targets.forget_all()
    assert send(client, connection, secret, leads_file(1)).status_code == 409


def test_a_test_connection_imports_test_data(client):
    connection, secret = make_connection("manual_csv_import", reason="Leads")  # draft
    send(client, connection, secret, leads_file(2))
    modes = set(db.session.scalars(db.select(WebhookEvent.mode)))
    assert modes == {"test"}


@pytest.mark.parametrize("event_type", ["Manual CSV Import Completed", "csv_import.completed"])
def test_a_completion_event_from_an_outside_tool_becomes_the_same_completion_record(client, csv_connection,
                                                                                    event_type):
    connection, secret = csv_connection
    payload = {"type": event_type, "id": "exp-2026-11", "filename": "crm-export-2026-11.csv", "period": "2026-11",
               "completed_at": "2026-11-30T18:02:11Z", "counts": {"created": 120, "updated": 14, "failed": 3}}
    response = send(client, connection, secret, json.dumps(payload).encode(), content_type="application/json")
    assert response.status_code == 202
    record = db.session.scalar(db.select(NormalizedEvent).where(NormalizedEvent.object_type == "csv_import"))
    assert record.external_id == "external-exp-2026-11" and record.status == "completed_with_errors"
    assert record.fields["filename"] == "crm-export-2026-11.csv" and record.fields["period"] == "2026-11"
    assert record.fields["created"] == 120
    values = dict(db.session.execute(db.select(MetricValue.name, MetricValue.value).where(
        MetricValue.normalized_event_id == record.id)).all())
    assert values == {"csv_rows_imported": 134, "csv_rows_failed": 3}
