"""Onboarding checklist: steps 1-5 gate going active on evidence; only step 1 is ticked by hand; test
events are sent, processed and reviewed."""
import json
import re

import pytest

from tests.factories import drain, go_live, make_connection
from zarts.extensions import db
from zarts.models import AdminAction, Connection, WebhookEvent
from zarts.services.proof import metrics
from zarts.services.setup import gate, lifecycle, onboarding

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


def mark(client, connection, step, done=True, note=None):
    data = {"done": "1" if done else "0"}
    if note is not None:
        data["note"] = note
    return client.post(f"/admin/connections/{connection.id}/checklist/{step}", data=data, headers=HX)


def steps_of(connection):
    return {step["key"]: step for step in gate.steps(reload(connection.id))}


def publish(connection, admin, **story):
    metric = metrics.save_metric(connection.client, {
        "name": "Monthly revenue", "metric_name": "revenue", "connection_id": connection.id, "period": "month",
        "unit": "USD", "client_meaning": "What customers paid this month.", "aggregation": "sum", **story}, admin)
    metrics.publish(metric, admin)
    db.session.commit()
    return metric


def test_activating_early_is_refused_server_side(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    mark(client, connection, "access", note="Admin access to the client's Stripe account checked")
    lifecycle_html = client.get(f"/admin/connections/{connection.id}/lifecycle", headers=HX).get_data(as_text=True)
    assert "Before it can go live" in lifecycle_html and "disabled" in lifecycle_html
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "active"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'role="alert"' in html
    assert "finish these onboarding steps before going active" in html
    assert "3. map at least one" in html or "3. receive an event" in html
    assert "4. process test data" in html and "5. publish a metric" in html and "1. confirm" not in html
    assert "HX-Trigger" not in response.headers
    assert reload(connection.id).lifecycle == "draft"
    assert not audit_rows("connection.activate", connection.id)


def test_step_one_is_a_confirmation_with_a_note_who_and_when(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    html = mark(client, connection, "access", note="").get_data(as_text=True)
    assert "say what you checked" in html and not steps_of(connection)["access"]["done"]
    response = mark(client, connection, "access", note="Stripe account: admin access; signing-secret auth; events only")
    html = response.get_data(as_text=True)
    assert response.headers["HX-Trigger"] == json.dumps({"checklist-changed": connection.id})
    assert 'id="checklist"' in html and "<html" not in html and f"Done by {admin.display_name}" in html
    assert "signing-secret auth" in html
    entry = reload(connection.id).checklist["access"]
    assert entry["done"] is True and entry["by"] == admin.id and entry["at"] and entry["note"]
    [row] = audit_rows("checklist.access_confirmed", connection.id)
    assert row.actor_id == admin.id and "signing-secret auth" in row.reason
    html = mark(client, connection, "access", done=False).get_data(as_text=True)
    assert f"Reopened by {admin.display_name}" in html and not steps_of(connection)["access"]["done"]
    assert audit_rows("checklist.access_reopened", connection.id)


def test_the_other_steps_cannot_be_ticked_by_hand(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    for step in ("records", "mapping", "client_story", "watch", "nope"):
        response = mark(client, connection, step)
        assert response.status_code == 200 and "done by what exists" in response.get_data(as_text=True)
    assert [key for key, step in steps_of(connection).items() if step["done"]] == ["records"]


def test_steps_three_and_four_need_a_received_and_reviewed_test_event(app, client, admin, redis_url):
    connection, _ = make_connection("stripe", owner=admin)
    found = steps_of(connection)
    assert not found["mapping"]["done"] and not found["test_event"]["done"]
    html = mark(client, connection, "test_event").get_data(as_text=True)
    assert "nothing to review yet" in html  # no delivery at all: step 4 cannot be claimed
    send(client, connection)
    drain()
    found = steps_of(connection)
    assert found["mapping"]["done"] and "charge.succeeded" in found["mapping"]["evidence"]
    assert not found["test_event"]["done"]  # processed, but nobody reviewed the counts yet
    html = mark(client, connection, "test_event").get_data(as_text=True)
    assert "Reviewed: 1 created, 0 updated, 0 unchanged, 0 failed, 1 duplicate, 0 ignored" in html
    step = steps_of(connection)["test_event"]
    assert step["done"] and step["reviewed"]["created"] == 1 and step["by_name"] == admin.display_name
    assert audit_rows("checklist.test_data_reviewed", connection.id)[0].after["duplicate"] == 1


def test_a_received_type_the_mapping_ignores_does_not_count_for_step_three(app, client, admin):
    from tests.factories import deliver

    connection, secret = make_connection("stripe", owner=admin)
    payload = {"id": "evt_unmapped_1", "type": "customer.tax_id.created", "livemode": False,
               "data": {"object": {"id": "txi_1"}}}
    assert deliver(client, connection, secret, payload=payload).status_code == 202
    step = steps_of(connection)["mapping"]
    assert not step["done"] and "map at least one event type this connection has received" in step["missing"]


def test_step_five_needs_a_published_metric_with_baseline_meaning_and_next_action(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    publish(connection, admin, baseline_value="900")  # no next action
    assert not steps_of(connection)["client_story"]["done"]
    publish(connection, admin, baseline_mode="previous_period", next_action="We review the month with you")
    step = steps_of(connection)["client_story"]
    assert step["done"] and "Monthly revenue" in step["evidence"]


def test_with_evidence_for_steps_one_to_five_the_connection_goes_active(app, client, admin, redis_url):
    connection, _ = make_connection("stripe", owner=admin)
    mark(client, connection, "access", note="Stripe: admin access, docs, signing secret, events scope")
    send(client, connection)
    drain()
    mark(client, connection, "test_event")
    publish(connection, admin, baseline_value="900", next_action="We review the month with you on the 1st")
    lifecycle_html = client.get(f"/admin/connections/{connection.id}/lifecycle", headers=HX).get_data(as_text=True)
    assert "Before it can go live" not in lifecycle_html
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "active"}, headers=HX)
    assert response.headers["HX-Trigger"] == json.dumps({"lifecycle-changed": connection.id})
    assert reload(connection.id).lifecycle == "active"
    [row] = audit_rows("connection.activate", connection.id)
    assert (row.before["lifecycle"], row.after["lifecycle"]) == ("testing", "active")
    assert steps_of(connection)["watch"]["done"]


def test_the_gate_cannot_be_skipped_without_htmx_or_from_a_pause(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "active"})
    assert response.status_code == 302
    assert "finish these onboarding steps" in client.get(response.headers["Location"]).get_data(as_text=True)
    go_live(connection, admin)
    lifecycle.transition(connection, "paused", admin, "maintenance")
    gate.reopen_access(connection, admin, "the account changed hands")  # taken back while paused
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "active"}, headers=HX)
    assert "1. confirm account access" in response.get_data(as_text=True)
    assert reload(connection.id).lifecycle == "paused"


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

    connection, secret = make_connection("stripe", owner=admin, live=True)
    deliver(client, connection, secret)
    assert gate.test_review(connection)["total"] == 0
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
    go_live(connection, admin)
    before = db.session.scalar(db.select(db.func.count(WebhookEvent.id)))
    response = send(client, connection)
    assert "draft or testing" in response.get_data(as_text=True) and "HX-Trigger" not in response.headers
    assert db.session.scalar(db.select(db.func.count(WebhookEvent.id))) == before


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
        assert gate.test_review(connection)["created"] == 1


def test_step_two_for_a_pull_connector_is_its_stored_credential(app, client, admin):
    from zarts.services.sync import settings

    connection, _ = make_connection("generic_http_sync", owner=admin)
    step = steps_of(connection)["records"]
    assert not step["done"] and "credential" in step["missing"]
    settings.configure(connection, {"endpoint": "https://crm.example.com/v1/records"}, admin, credential="key-123")
    assert steps_of(connection)["records"]["done"]


def test_step_two_for_stripe_is_the_secret_stripe_issued(app, client, admin):
    from zarts.services.setup import connections

    connection, _ = connections.create_connection("stripe", make_connection()[0].client.slug, admin.email,
                                                  "Card payments")  # no secret pasted: zarts generated one
    db.session.commit()
    step = steps_of(connection)["records"]
    assert not step["done"] and "paste the signing secret Stripe issued" in step["missing"]
    connections.rotate_secret(connection, admin, 0, secret="whsec_issued_by_stripe_abc123")
    assert steps_of(connection)["records"]["done"]
