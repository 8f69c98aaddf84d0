"""Mapping versions: a reason each, no empty versions, who/when/why and a readable diff, restore, and
replay with the version of the time or the current one."""
import copy
from datetime import timedelta

from tests.admin.test_mapping_editor import HX, delivered, stripe_default
from tests.factories import drain, make_connection
from zarts.extensions import db
from zarts.models import ConnectionMapping, NormalizedEvent, WebhookEvent
from zarts.services.mapping import versions
from zarts.services.pipeline import replay


def record_of(event_id):
    db.session.expire_all()
    event = db.session.get(WebhookEvent, event_id)
    return db.session.get(NormalizedEvent, event.normalized_event_id)


def with_label(label):
    mapping = stripe_default()
    mapping["events"]["charge.succeeded"]["fields"]["label"] = f"'{label}'"
    return mapping


def test_restoring_a_version_reproduces_the_old_records_on_replay(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    versions.save_mapping(connection, with_label("first"), admin, "label the charges")
    event_id = delivered(client, connection, secret)
    assert record_of(event_id).fields["label"] == "first"
    versions.save_mapping(connection, with_label("second"), admin, "new label")
    replay.replay([event_id], admin, "map it again")
    drain()
    assert record_of(event_id).fields["label"] == "second"

    response = client.post(f"/admin/connections/{connection.id}/mapping/restore",
                           data={"version": "1", "reason": "the old label was right"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Saved as version 3" in html
    latest = db.session.scalar(db.select(ConnectionMapping).filter_by(connection_id=connection.id, version=3))
    assert latest.mapping == with_label("first") and latest.reason == "restored version 1: the old label was right"
    replay.replay([event_id], admin, "map it with the restored version")
    drain()
    assert record_of(event_id).fields["label"] == "first"


def test_a_replay_can_use_the_version_in_force_at_the_time(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    versions.save_mapping(connection, with_label("then"), admin, "label the charges")
    event_id = delivered(client, connection, secret)
    saved = versions.save_mapping(connection, with_label("now"), admin, "relabel")
    saved.created_at = saved.created_at + timedelta(seconds=5)  # saved after the event was processed
    db.session.commit()
    replay.replay([event_id], admin, "as it was", mapping="at_the_time")
    drain()
    assert record_of(event_id).fields["label"] == "then"
    assert db.session.get(WebhookEvent, event_id).mapping_version_pin == 1
    replay.replay([event_id], admin, "as it is now")
    drain()
    assert record_of(event_id).fields["label"] == "now"
    response = client.post(f"/admin/events/{event_id}/replay", data={"mapping": "at_the_time", "ctx": "panel"},
                           headers=HX)
    drain()
    assert response.status_code == 200 and record_of(event_id).fields["label"] == "then"
    detail = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "Replay with its mapping of the time" in detail


def test_versions_show_who_when_why_and_what_changed(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    versions.save_mapping(connection, with_label("first"), admin, "label the charges")
    second = copy.deepcopy(with_label("first"))
    second["events"]["charge.succeeded"]["status"] = "data.object.outcome.type"
    versions.save_mapping(connection, second, admin, "status from the outcome")
    [latest, first] = versions.history(connection)
    assert (latest["version"], latest["author"], latest["reason"]) == (2, admin.display_name, "status from the outcome")
    assert latest["changes"] == [("events.charge.succeeded.status", "data.object.status", "data.object.outcome.type")]
    assert first["changes"] == [("events.charge.succeeded.fields.label", None, "'first'")]
    html = client.get(f"/admin/connections/{connection.id}/mapping").get_data(as_text=True)
    for text in ("Version 2", admin.display_name, "status from the outcome", "events.charge.succeeded.status",
                 "data.object.outcome.type", "Restore version 1"):
        assert text in html
    unchanged = client.post(f"/admin/connections/{connection.id}/mapping/restore", data={"version": "2"}, headers=HX)
    assert "nothing changed: this is version 2, already in force" in unchanged.get_data(as_text=True)
    unknown = client.post(f"/admin/connections/{connection.id}/mapping/restore", data={"version": "9"}, headers=HX)
    assert "has no mapping version 9" in unknown.get_data(as_text=True)


def test_the_editor_refuses_a_save_without_a_reason_or_without_a_change(app, client, admin):
    import json

    connection, _ = make_connection("stripe", owner=admin)
    url = f"/admin/connections/{connection.id}/mapping"
    response = client.post(url, data={"mapping_json": json.dumps(with_label("x")), "reason": ""}, headers=HX)
    assert "say why the mapping changes" in response.get_data(as_text=True)
    response = client.post(url, data={"mapping_json": json.dumps(stripe_default()), "reason": "no-op"}, headers=HX)
    assert "nothing changed: this is the Stripe default" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(ConnectionMapping)) == 0
