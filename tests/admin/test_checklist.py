"""Onboarding checklist: steps record who and when, steps 1-5 gate going active, test events are reviewed."""
import json
import re

import pytest

from tests.factories import drain, make_connection
from zarts.extensions import db
from zarts.models import AdminAction, Connection, WebhookEvent
from zarts.services.setup import lifecycle, onboarding

HX = {"HX-Request": "true"}


def reload(connection_id):
    db.session.expire_all()
    return db.session.get(Connection, connection_id)


def audit_rows(action, connection_id):
    db.session.expire_all()
    return db.session.scalars(db.select(AdminAction).filter_by(action=action, target_id=str(connection_id))
                              .order_by(AdminAction.id)).all()


def review(html):
    """The review counts a checklist or review fragment shows."""
    return {key: int(value) for key, value in re.findall(r'data-review="(\w+)">(\d+)<', html)}


def mark(client, connection, step, done=True):
    return client.post(f"/admin/connections/{connection.id}/checklist/{step}", data={"done": "1" if done else "0"},
                       headers=HX)


def test_activating_early_is_refused_server_side(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    for step in ("access", "records", "mapping"):
        mark(client, connection, step)
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "active"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'role="alert"' in html
    assert "finish these onboarding steps before going active" in html
    assert "4. Run a test webhook" in html and "5. Write the client-safe" in html and "1. Confirm" not in html
    assert "HX-Trigger" not in response.headers
    assert reload(connection.id).lifecycle == "draft"
    assert not audit_rows("connection.activate", connection.id)


def test_the_gate_cannot_be_skipped_without_htmx_or_from_a_pause(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "active"})
    assert response.status_code == 302
    assert "finish these onboarding steps" in client.get(response.headers["Location"]).get_data(as_text=True)
    for key in lifecycle.GATE_STEPS:
        lifecycle.set_step(connection, key, True, admin)
    lifecycle.transition(connection, "active", admin)
    lifecycle.transition(connection, "paused", admin, "maintenance")
    lifecycle.set_step(connection, "client_story", False, admin)  # reopened while paused
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "active"}, headers=HX)
    assert "5. Write the client-safe" in response.get_data(as_text=True)
    assert reload(connection.id).lifecycle == "paused"


def test_marking_steps_records_who_and_when_and_audits(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    response = mark(client, connection, "access")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == json.dumps({"checklist-changed": connection.id})
    assert 'id="checklist"' in html and "<html" not in html
    assert f"Done by {admin.display_name}" in html
    entry = reload(connection.id).checklist["access"]
    assert entry["done"] is True and entry["by"] == admin.id and entry["at"]
    [row] = audit_rows("checklist.done", connection.id)
    assert row.actor_id == admin.id and row.after == {"step": "access", "done": True}
    html = mark(client, connection, "access", done=False).get_data(as_text=True)
    assert f"Reopened by {admin.display_name}" in html
    assert reload(connection.id).checklist["access"]["done"] is False
    assert audit_rows("checklist.undone", connection.id)[0].before == {"step": "access", "done": True}


def test_unknown_step_is_an_error_not_a_crash(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    response = mark(client, connection, "nope")
    assert response.status_code == 200 and "unknown checklist step" in response.get_data(as_text=True)


def test_after_steps_one_to_five_the_connection_goes_active(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    for key in lifecycle.GATE_STEPS:  # step 6 (watch) is for after launch
        assert mark(client, connection, key).status_code == 200
    lifecycle_html = client.get(f"/admin/connections/{connection.id}/lifecycle", headers=HX).get_data(as_text=True)
    assert "still open" not in lifecycle_html
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "active"}, headers=HX)
    assert response.headers["HX-Trigger"] == json.dumps({"lifecycle-changed": connection.id})
    assert reload(connection.id).lifecycle == "active"
    [row] = audit_rows("connection.activate", connection.id)
    assert (row.before["lifecycle"], row.after["lifecycle"]) == ("draft", "active")


def send(client, connection):
    return client.post(f"/admin/connections/{connection.id}/test-event", headers=HX)


def review_after(client, connection, response, redis_url):
    """The counts, once any worker has caught up (with Redis the handler only enqueues)."""
    if redis_url is None:
        return review(response.get_data(as_text=True))
    drain()
    return review(client.get(f"/admin/connections/{connection.id}/test-review", headers=HX).get_data(as_text=True))


def test_send_test_event_shows_the_review_counts(app, client, admin, redis_url):
    connection, _ = make_connection("stripe", owner=admin)
    response = send(client, connection)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == json.dumps({"test-event-sent": connection.id})
    assert "answered 202, then 200" in html
    assert review_after(client, connection, response, redis_url) == {
        "created": 1, "updated": 0, "unchanged": 0, "failed": 0, "duplicate": 1, "ignored": 0}
    assert reload(connection.id).lifecycle == "testing"  # a draft moves to testing with its first test event
    event = db.session.scalar(db.select(WebhookEvent).filter_by(connection_id=connection.id))
    assert event.dedupe_key.startswith(onboarding.TEST_PREFIX) and event.status == "normalized"
    assert audit_rows("connection.test_event", connection.id) and audit_rows("connection.start_testing", connection.id)
    # The same sample again: the record exists and nothing changed.
    response = send(client, connection)
    assert review_after(client, connection, response, redis_url) == {
        "created": 1, "updated": 0, "unchanged": 1, "failed": 0, "duplicate": 2, "ignored": 0}


def test_review_counts_only_test_deliveries(app, client, admin):
    from tests.factories import deliver

    connection, secret = make_connection("stripe", owner=admin)
    deliver(client, connection, secret)
    assert onboarding.test_review(connection)["total"] == 0
    html = client.get(f"/admin/connections/{connection.id}/test-review", headers=HX).get_data(as_text=True)
    assert "No test deliveries yet" in html and "hx-trigger" not in html


def test_pending_review_polls_until_processed(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    send(client, connection)
    event = db.session.scalar(db.select(WebhookEvent).filter_by(connection_id=connection.id))
    event.status = "queued"  # as while it waits behind a worker backlog
    db.session.commit()
    html = client.get(f"/admin/connections/{connection.id}/test-review", headers=HX).get_data(as_text=True)
    assert "still processing" in html and "every 5s" in html
    assert f'hx-get="/admin/connections/{connection.id}/test-review"' in html


def test_test_events_only_in_draft_or_testing(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    for key in lifecycle.GATE_STEPS:
        lifecycle.set_step(connection, key, True, admin)
    lifecycle.transition(connection, "active", admin)
    response = send(client, connection)
    assert "draft or testing" in response.get_data(as_text=True) and "HX-Trigger" not in response.headers
    assert db.session.scalar(db.select(WebhookEvent).filter_by(connection_id=connection.id)) is None


@pytest.mark.parametrize("provider_key", ["manual_csv_import", "generic_http_sync"])
def test_connections_without_webhooks_offer_their_own_check_instead(app, client, admin, provider_key):
    connection, _ = make_connection(provider_key, owner=admin)
    page = client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
    assert "Send test event" not in page and ("test sync" in page or "dry run" in page)
    response = send(client, connection)
    assert "only webhook connections take test events" in response.get_data(as_text=True)


@pytest.mark.parametrize("provider_key", ["standard_webhooks", "stripe", "shopify", "github"])
def test_every_shipped_provider_accepts_its_test_event(app, client, admin, redis_url, provider_key):
    connection, _ = make_connection(provider_key, owner=admin)
    response = send(client, connection)
    assert "answered 202, then 200" in response.get_data(as_text=True)
    counts = review_after(client, connection, response, redis_url)
    assert counts["created"] == 1 and counts["duplicate"] == 1 and counts["failed"] == 0


def test_a_test_event_never_touches_the_process_wide_config(app, client, admin, monkeypatch):
    """It goes through the receipt service directly: no nested request with OUTBOX_SYNC flipped
    for every other request of the process meanwhile (two at once could leave it stuck)."""
    from zarts.services.ingest import receipt

    app.config["OUTBOX_SYNC"] = False
    seen, real_receive = [], receipt.receive

    def watching_receive(*args, **kwargs):
        seen.append(app.config["OUTBOX_SYNC"])
        return real_receive(*args, **kwargs)

    monkeypatch.setattr(receipt, "receive", watching_receive)
    connection, _ = make_connection("stripe", owner=admin)
    html = send(client, connection).get_data(as_text=True)
    assert "answered 202, then 200" in html
    assert seen == [False, False] and app.config["OUTBOX_SYNC"] is False
    if app.config["REDIS_URL"] is None:  # in-process: normalized before the answer, without the flag
        assert onboarding.test_review(connection)["created"] == 1
