"""Schema drift: a provider stops sending a mapped path, changes its type, or starts a new event type."""
import copy
import uuid

from tests.factories import deliver, make_connection, make_user
from zarts.extensions import db
from zarts.models import AdminAction, AdminTask, Connection, DriftFinding
from zarts.providers import definition
from zarts.services.health import checks
from zarts.services.mapping import shapes, versions


def live_stripe():
    connection, secret = make_connection("stripe", live=True)
    return connection, secret


def charge(amount=True, amount_as_text=False):
    payload = copy.deepcopy(definition("stripe")["samples"]["charge.succeeded"])
    payload["id"] = f"evt_{uuid.uuid4().hex}"
    payload["data"]["object"]["id"] = f"ch_{uuid.uuid4().hex[:16]}"
    if not amount:
        del payload["data"]["object"]["amount"]
    elif amount_as_text:
        payload["data"]["object"]["amount"] = "4200"
    return payload


def send(client, connection, secret, n, **kwargs):
    for _ in range(n):
        assert deliver(client, connection, secret, payload=charge(**kwargs)).status_code == 202


def health(connection):
    checks.check([connection.id])
    db.session.expire_all()
    return db.session.get(Connection, connection.id)


def test_the_index_keeps_paths_types_presence_and_masked_examples(app, client):
    connection, secret = live_stripe()
    send(client, connection, secret, 3)
    count, rows = shapes.paths_of(connection.id, "charge.succeeded")
    by_path = {row.path: row for row in rows}
    assert count == 3 and by_path["data.object.amount"].types == ["number"] and by_path["data.object.amount"].seen == 3
    assert by_path["data.object.id"].example.startswith("ch_")
    secret_payload = charge()
    secret_payload["data"]["object"]["metadata"] = {"api_token": "tok_live_SECRET_9931"}
    deliver(client, connection, secret, payload=secret_payload)
    _, rows = shapes.paths_of(connection.id, "charge.succeeded")
    token = next(r for r in rows if r.path == "data.object.metadata.api_token")
    assert token.example == "•••"


def test_a_stream_that_drops_a_mapped_path_yields_one_finding_and_one_task_until_accepted(app, client, login):
    connection, secret = live_stripe()
    send(client, connection, secret, 12)
    assert health(connection).health == "healthy"
    send(client, connection, secret, 8, amount=False)
    findings = db.session.scalars(db.select(DriftFinding)).all()
    assert [(f.kind, f.path, f.status) for f in findings] == [("path_missing", "data.object.amount", "open")]
    finding = findings[0]
    assert finding.detail["reads"] == ["fields.amount", "metrics.revenue"] and finding.detail["metrics"] == ["revenue"]
    sample_amount = definition("stripe")["samples"]["charge.succeeded"]["data"]["object"]["amount"]
    assert finding.detail["before"] == str(sample_amount) and finding.detail["now"] == "absent"
    tasks = db.session.scalars(db.select(AdminTask).filter_by(kind="drift")).all()
    assert len(tasks) == 1 and tasks[0].assignee_id == connection.owner_id and tasks[0].status == "open"
    row = health(connection)
    assert row.health == "degraded" and "Schema drift: charge.succeeded deliveries stopped carrying data.object.amount" \
        in row.health_reason

    login(connection.owner)
    page = client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
    assert "Schema drift" in page and "data.object.amount" in page and "Accept" in page
    response = client.post(f"/admin/drift/{finding.id}/accept", data={"reason": "Stripe test account without amounts"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(DriftFinding, finding.id).status == "accepted"
    assert db.session.scalars(db.select(AdminTask).filter_by(kind="drift")).one().status == "resolved"
    assert health(connection).health == "healthy"
    assert db.session.scalar(db.select(AdminAction).filter_by(action="drift.accept")) is not None
    send(client, connection, secret, 6, amount=False)  # the accepted shape: no new finding
    assert db.session.scalar(db.select(db.func.count()).select_from(DriftFinding)) == 1


def test_a_mapping_version_that_no_longer_reads_the_path_fixes_the_finding(app, client):
    connection, secret = live_stripe()
    send(client, connection, secret, 12)
    send(client, connection, secret, 6, amount=False)
    mapping = copy.deepcopy(versions.effective_mapping(connection))
    rule = mapping["events"]["charge.succeeded"]
    del rule["fields"]["amount"]
    rule["metrics"][0]["value"] = "data.object.amount_captured"
    versions.save_mapping(connection, mapping, connection.owner, "amount_captured replaces amount")
    send(client, connection, secret, 1, amount=False)
    finding = db.session.scalars(db.select(DriftFinding)).one()
    assert finding.status == "fixed" and db.session.scalars(db.select(AdminTask).filter_by(kind="drift")).one().status \
        == "resolved"


def test_a_changed_type_and_a_new_event_type_are_findings(app, client):
    connection, secret = live_stripe()
    send(client, connection, secret, 12)
    send(client, connection, secret, 1, amount_as_text=True)
    payload = {"id": f"evt_{uuid.uuid4().hex}", "type": "customer.created", "created": 1700000000,
               "data": {"object": {"id": "cus_1", "object": "customer"}}}
    deliver(client, connection, secret, event_type="customer.created", payload=payload)
    kinds = {(f.kind, f.path or f.event_type) for f in db.session.scalars(db.select(DriftFinding))}
    assert kinds == {("type_changed", "data.object.amount"), ("new_event_type", "customer.created")}
    assert db.session.scalar(db.select(db.func.count()).select_from(AdminTask).filter_by(kind="drift")) == 2


def test_test_connections_and_the_setting_keep_drift_quiet(app, client):
    connection, secret = make_connection("stripe")  # draft: indexed for the picker, no drift findings
    for _ in range(12):
        deliver(client, connection, secret, payload=charge())
    for _ in range(6):
        deliver(client, connection, secret, payload=charge(amount=False))
    assert db.session.scalar(db.select(db.func.count()).select_from(DriftFinding)) == 0
    assert shapes.paths_of(connection.id, "charge.succeeded")[0] == 18
    make_user("admin")
