"""The mapping editor: effective mapping and versions, dry-run preview on stored events, validated saves."""
import copy
import json
import uuid

from tests.factories import deliver, make_connection
from zarts.extensions import db
from zarts.models import AdminAction, ConnectionMapping, NormalizedEvent
from zarts.providers import definition

HX = {"HX-Request": "true"}


def stripe_default():
    return copy.deepcopy(definition("stripe")["mapping"])


def counts():
    db.session.expire_all()
    return tuple(db.session.scalar(db.select(db.func.count()).select_from(model))
                 for model in (NormalizedEvent, ConnectionMapping, AdminAction))


def delivered(client, connection, secret, payload=None):
    response = deliver(client, connection, secret, payload=payload)
    assert response.status_code == 202
    return response.get_json()["event_id"]


def test_editor_shows_the_effective_mapping_and_recent_events(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    event_id = delivered(client, connection, secret)
    html = client.get(f"/admin/connections/{connection.id}/mapping").get_data(as_text=True)
    assert "the Stripe default" in html and "No saved versions" in html
    assert "charge.succeeded" in html and "data.object.id" in html  # the default mapping, as JSON
    assert f'<option value="{event_id}"' in html
    fragment = client.get(f"/admin/connections/{connection.id}/mapping", headers=HX).get_data(as_text=True)
    assert 'id="mapping-editor"' in fragment and "<html" not in fragment


def test_preview_shows_the_normalized_record_and_writes_nothing(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    event_id = delivered(client, connection, secret)
    candidate = stripe_default()
    candidate["events"]["charge.succeeded"]["fields"] = {"currency_code": "data.object.currency"}
    before = counts()
    response = client.post(f"/admin/connections/{connection.id}/mapping/preview", headers=HX,
                           data={"mapping_json": json.dumps(candidate), "event_id": event_id})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Normalized record" in html
    assert "currency_code" in html and "usd" in html and "ch_3QhT7sLkdIwHu7ix0Kp9Wm4e" in html
    assert counts() == before


def test_preview_shows_the_exact_error(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    event_id = delivered(client, connection, secret)
    candidate = stripe_default()
    candidate["events"]["charge.succeeded"]["external_id"] = "data.object.nope"
    url = f"/admin/connections/{connection.id}/mapping/preview"
    html = client.post(url, headers=HX, data={"mapping_json": json.dumps(candidate), "event_id": event_id}).get_data(as_text=True)
    assert "external_id: missing from the payload" in html
    candidate["events"]["charge.succeeded"]["object_type"] = "spaceship"
    html = client.post(url, headers=HX, data={"mapping_json": json.dumps(candidate), "event_id": event_id}).get_data(as_text=True)
    assert "invalid mapping: events.charge.succeeded.object_type: required, one of" in html
    html = client.post(url, headers=HX, data={"mapping_json": "{nope", "event_id": event_id}).get_data(as_text=True)
    assert "not valid JSON" in html
    candidate = stripe_default()
    candidate["events"].pop("charge.succeeded")
    html = client.post(url, headers=HX, data={"mapping_json": json.dumps(candidate), "event_id": event_id}).get_data(as_text=True)
    assert "Ignored: no mapping for event type &#39;charge.succeeded&#39;" in html


def test_preview_only_uses_this_connections_events(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    other, other_secret = make_connection("stripe", owner=admin)
    foreign = delivered(client, other, other_secret)
    html = client.post(f"/admin/connections/{connection.id}/mapping/preview", headers=HX,
                       data={"mapping_json": json.dumps(stripe_default()), "event_id": foreign}).get_data(as_text=True)
    assert "choose one of this connection&#39;s stored events" in html


def test_save_validates_versions_and_audits(app, client, admin, redis_url):
    connection, secret = make_connection("stripe", owner=admin)
    url = f"/admin/connections/{connection.id}/mapping"
    response = client.post(url, headers=HX, data={"mapping_json": "[1,"})
    assert response.status_code == 200 and "not valid JSON" in response.get_data(as_text=True)
    broken = {"version": 2, "events": {"x": {"object_type": "nope"}}}
    response = client.post(url, headers=HX, data={"mapping_json": json.dumps(broken)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    for problem in ("version: must be 1", "events.x.object_type: required", "events.x.external_id: required"):
        assert problem in html
    assert not db.session.scalars(db.select(ConnectionMapping)).all()

    candidate = stripe_default()
    candidate["events"]["charge.succeeded"]["fields"] = {"currency_code": "data.object.currency"}
    response = client.post(url, headers=HX, data={"mapping_json": json.dumps(candidate), "reason": "add currency"})
    html = response.get_data(as_text=True)
    assert response.headers["HX-Trigger"] == json.dumps({"mapping-saved": connection.id})
    assert "Saved as version 1" in html and "In force: version 1" in html
    [saved] = db.session.scalars(db.select(ConnectionMapping).filter_by(connection_id=connection.id)).all()
    assert saved.mapping == candidate and saved.created_by_id == admin.id
    [row] = db.session.scalars(db.select(AdminAction).filter_by(action="mapping.save")).all()
    assert row.reason == "add currency" and row.after["version"] == 1 and row.actor_id == admin.id
    # New events are mapped with the saved version.
    payload = copy.deepcopy(definition("stripe")["samples"]["charge.succeeded"])
    payload["id"] = f"evt_{uuid.uuid4().hex}"
    delivered(client, connection, secret, payload=payload)
    record = db.session.scalar(db.select(NormalizedEvent).filter_by(connection_id=connection.id))
    assert record.fields["currency_code"] == "usd"
