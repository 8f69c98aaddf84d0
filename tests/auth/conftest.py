"""The objects the access sweeps fill their URLs with: one client's, one of each kind."""
import io

import pytest
from werkzeug.datastructures import MultiDict

from tests.factories import deliver, make_client, make_connection, make_user
from tests.portal.test_portal import card_of, charge, revenue_metric
from zarts.extensions import db
from zarts.models import AdminTask, DriftFinding, Notification, utcnow
from zarts.services.console import bulk, explorer
from zarts.services.imports import csv_import
from zarts.services.notify import destinations
from zarts.services.proof import notes
from zarts.services.setup.connections import CHECKLIST_STEPS

HX = {"HX-Request": "true"}
OWNER_ONLY = "Owner-only revenue 7731"  # the owning client's card title: nobody else may see it


@pytest.fixture
def owned(app, client):
    """One client's objects, one of each kind an admin or portal URL takes an id of.

    {"ids": {URL argument: value}, "cursor": the event explorer's second page, "customer", "admin"}.
    """
    customer = make_client()
    admin = make_user("admin")
    stripe, secret = make_connection("stripe", client=customer, owner=admin)
    metric = revenue_metric(stripe, name=OWNER_ONLY)
    deliver(client, stripe, secret, payload=charge(4200, "ch_owned"))
    broken = {"id": "evt_broken_owned", "type": "charge.succeeded", "data": {"object": {}}}
    assert deliver(client, stripe, secret, payload=broken).status_code == 202  # dead-lettered: opens a task
    event_id = deliver(client, stripe, secret, payload=charge(100, "ch_event")).get_json()["event_id"]
    csv, _ = make_connection("manual_csv_import", client=customer, owner=admin)
    uploader = make_user("client", client=customer)  # a client's own upload: the portal shows it to them
    upload = csv_import.upload(csv.id, f"{OWNER_ONLY}.csv", io.BytesIO(b"row_key,name,value\nL-1,Lead,10\n"),
                               actor=uploader, source="portal")
    filters, errors = explorer.parse_filters(MultiDict({"connection": str(stripe.id)}))
    assert not errors
    _rows, cursor = explorer.page(filters, None, 1)
    operation = bulk.start_retry(filters, admin)
    task = db.session.scalar(db.select(AdminTask).filter_by(connection_id=stripe.id))
    assert task is not None
    draft = notes.write_for_client(csv, "Leads file imported: 1 row")  # a draft note, waiting for review
    destination, _ = destinations.add(admin, "email", "owner@agency.example", user=admin)
    sent = Notification(kind="test", destination_id=destination.id, subject="Test", body="Test", facts={},
                        status="sent", due_at=utcnow(), created_at=utcnow(), sent_at=utcnow())
    db.session.add(sent)
    finding = DriftFinding(connection_id=stripe.id, event_type="charge.succeeded", kind="path_missing",
                           path="data.object.amount", open_key="owned", summary="charge.succeeded lost an amount",
                           detail={}, created_at=utcnow())
    db.session.add(finding)
    db.session.commit()
    ids = {"client_id": customer.id, "connection_id": stripe.id, "event_id": event_id, "metric_id": metric.id,
           "card_id": card_of(metric).id, "import_id": upload.id, "operation_id": operation.id,
           "task_id": task.id, "note_id": draft.id,
           "destination_id": destination.id, "notification_id": sent.id, "finding_id": finding.id, "step": CHECKLIST_STEPS[0][0]}
    return {"ids": ids, "cursor": cursor, "customer": customer, "admin": admin}
