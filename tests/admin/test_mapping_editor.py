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


MARKER = "PLANTED-PII-4242"


def planted_charge():
    """A Stripe charge with the marker under sensitive keys only (an email, a card, a nested token)."""
    payload = copy.deepcopy(definition("stripe")["samples"]["charge.succeeded"])
    payload["id"] = f"evt_{uuid.uuid4().hex}"
    charge = payload["data"]["object"]
    charge["receipt_email"] = f"{MARKER}@example.com"
    charge["card"] = {"number": f"{MARKER}-4111", "exp": "12/30"}
    charge["metadata"] = {"api_token": MARKER, "card_total": 4200, "note": "kept"}
    return payload


def leaky_mapping():
    """The whole payload as a field (`@`), plus an external id, a status and a field read from sensitive keys."""
    candidate = stripe_default()
    rule = candidate["events"]["charge.succeeded"]
    rule["fields"] = {"everything": "@", "contact": "data.object.receipt_email"}
    rule["external_id"] = "data.object.receipt_email"
    rule["status"] = "data.object.metadata.api_token"
    return candidate


def preview(client, connection, candidate, event_id, unmasked=False, headers=HX):
    url = f"/admin/connections/{connection.id}/mapping/preview" + ("/unmasked" if unmasked else "")
    response = client.post(url, headers=headers, data={"mapping_json": json.dumps(candidate), "event_id": event_id})
    assert response.status_code == 200
    return response


def unmasked_looks():
    db.session.expire_all()
    return db.session.scalars(db.select(AdminAction).filter_by(action="mapping.preview_unmasked")).all()


def test_the_preview_masks_sensitive_values_by_default(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    event_id = delivered(client, connection, secret, payload=planted_charge())
    before = counts()
    for headers in (HX, {}):  # the htmx fragment and the full page
        html = preview(client, connection, leaky_mapping(), event_id, headers=headers).get_data(as_text=True)
        assert "Normalized record" in html and MARKER not in html
        assert "everything" in html and "•••" in html and "kept" in html  # the rest is shown
        assert "Show unmasked values" in html and "audit log" in html
    assert counts() == before and unmasked_looks() == []


def test_an_error_quoting_a_sensitive_value_is_masked_too(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    event_id = delivered(client, connection, secret, payload=planted_charge())
    candidate = leaky_mapping()
    candidate["events"]["charge.succeeded"]["occurred_at"] = "data.object.receipt_email"
    html = preview(client, connection, candidate, event_id).get_data(as_text=True)
    assert "is not a unix time" in html and MARKER not in html
    candidate = stripe_default()
    candidate["events"]["charge.succeeded"]["metrics"][0]["value"] = "data.object.metadata.api_token"
    html = preview(client, connection, candidate, event_id).get_data(as_text=True)
    assert "is not a number" in html and MARKER not in html
    # A metric read from a sensitive key works on the real values only: the masked preview says so.
    candidate["events"]["charge.succeeded"]["metrics"][0]["value"] = "data.object.metadata.card_total"
    html = preview(client, connection, candidate, event_id).get_data(as_text=True)
    assert "Not shown masked: the mapping makes a record of this event" in html and MARKER not in html
    assert unmasked_looks() == []


def test_show_unmasked_values_is_an_audited_look(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    event_id = delivered(client, connection, secret, payload=planted_charge())
    before = counts()
    response = preview(client, connection, leaky_mapping(), event_id, unmasked=True)
    html = response.get_data(as_text=True)
    assert MARKER in html and "recorded in the audit log" in html and "Show unmasked values" not in html
    assert json.loads(response.headers["HX-Trigger"]) == {"mapping-preview-unmasked": connection.id}
    [look] = unmasked_looks()
    assert (look.actor_id, look.target_type, look.target_id) == (admin.id, "event", str(event_id))
    assert look.after == {"connection_id": connection.id}
    assert counts() == (before[0], before[1], before[2] + 1)  # that row and nothing else


def test_unmasked_preview_of_another_connections_event_shows_nothing_and_audits_nothing(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    other, other_secret = make_connection("stripe", owner=admin)
    foreign = delivered(client, other, other_secret, payload=planted_charge())
    html = preview(client, connection, leaky_mapping(), foreign, unmasked=True).get_data(as_text=True)
    assert "choose one of this connection&#39;s stored events" in html and MARKER not in html
    assert unmasked_looks() == []
