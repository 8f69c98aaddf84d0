"""What admins and clients do, in a real browser against a running server."""
import copy
import json
import os
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_not_reloaded, no_reload_marker, screenshot, sign_in
from zarts.extensions import db
from zarts.models import Connection, WebhookEvent
from zarts.providers import definition
from zarts.services.ingest import secrets, signatures
from zarts.services.mapping import versions
from zarts.services.setup.demo import ADMIN_EMAIL, LOGINS

pytestmark = pytest.mark.e2e
ADMIN_PASSWORD = LOGINS[0]["password"]
CLIENT_EMAIL, CLIENT_PASSWORD = LOGINS[1]["email"], LOGINS[1]["password"]


def post_webhook(live, path, secret, payload):
    """Deliver a signed Stripe event to the running server over HTTP."""
    body = json.dumps(payload).encode()
    headers = signatures.sign("stripe", body, secret, msg_id=payload["id"])
    headers["Content-Type"] = "application/json"
    request = urllib.request.Request(live.url(path), data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def charge(charge_id, cents):
    payload = copy.deepcopy(definition("stripe")["samples"]["charge.succeeded"])
    payload["id"] = f"evt_{charge_id}"
    payload["created"] = payload["data"]["object"]["created"] = int(time.time())
    payload["data"]["object"].update(id=charge_id, amount=cents)
    return payload


def acme_stripe():
    return db.session.scalar(db.select(Connection).join(Connection.provider).filter_by(key="stripe"))


def test_admin_retries_a_dead_letter_inline(page, live, account_state):
    with live.app.app_context():
        connection = acme_stripe()
        admin = connection.owner
        good = copy.deepcopy(versions.effective_mapping(connection))
        broken = copy.deepcopy(good)
        broken["events"]["charge.succeeded"]["external_id"] = "data.object.charge_reference"
        versions.save_mapping(connection, broken, admin, reason="e2e: a mapping mistake")
        client = live.app.test_client()  # the real endpoint and pipeline, in this process
        body_payload = charge("ch_e2e_retry", 4200)
        secret = _secret_of(connection)
        body = json.dumps(body_payload).encode()
        headers = {**signatures.sign("stripe", body, secret, msg_id=body_payload["id"]),
                   "Content-Type": "application/json"}
        event_id = client.post(connection.ingest_path, data=body, headers=headers).get_json()["event_id"]
        assert db.session.get(WebhookEvent, event_id).status == "dead_lettered"
        versions.save_mapping(connection, good, admin, reason="e2e: mapping fixed")
        connection_id = connection.id

    sign_in(page, live, account_state, ADMIN_EMAIL, ADMIN_PASSWORD)
    card = page.locator(f"#connection-{connection_id}")
    assert "dead" in card.inner_text().lower()
    screenshot(page, "health-board")
    page.goto(live.url(f"/admin/events?connection={connection_id}&status=dead_lettered"))
    row = page.locator(f"#event-{event_id}")
    assert "dead lettered" in row.inner_text()
    no_reload_marker(page)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Retry now").click()
    expect(page.locator(f"#event-{event_id} .badge")).to_have_text("normalized")
    assert_not_reloaded(page)
    page.goto(live.url(f"/admin/events/{event_id}"))
    assert "normalized" in page.inner_text("main")
    screenshot(page, "event-detail")


def _secret_of(connection):
    return secrets.decrypt(connection.secret_encrypted)


def stripe_event(event_id, cents, livemode):
    """A Stripe event and its Stripe-Signature header made by Stripe's own library."""
    payload = charge(f"ch_{event_id}", cents)
    payload.update(id=event_id, livemode=livemode)
    return json.dumps(payload)


def stripe_post(url, body, secret):
    import stripe

    headers = {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body, secret),
               "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_connect_stripe_as_a_new_admin(page, live, account_state):
    """Create with the secret Stripe issued, follow the guide, receive a signed delivery, review its
    counts, publish a metric, activate, and see the card as the client."""
    issued = "whsec_" + "".join(f"{b:02x}" for b in os.urandom(16))  # as Stripe's dashboard would show it
    sign_in(page, live, account_state, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live.url("/admin/connections/new"))
    page.select_option("select[name=provider]", "stripe")
    page.select_option("select[name=client]", "northwind-coffee")
    page.fill("input[name=secret]", issued)
    page.fill("textarea[name=reason]", "Card payments at the café feed the takings card")
    page.get_by_role("button", name="Create connection").click()
    expect(page.locator("#guide")).to_contain_text("Set up Stripe")
    assert issued not in page.content() and "Copy this secret now" not in page.content()
    screenshot(page, "setup-guide")
    ingest_url = page.inner_text("#ingest-url").strip()
    connection_id = int(page.url.rstrip("/").split("/")[-1])

    # Stripe sends its first event (the connection is new, so it is test data) ...
    assert stripe_post(ingest_url, stripe_event("evt_e2e_first", 1250, livemode=False), issued) == 202
    page.reload()
    expect(page.locator("#step-mapping")).to_have_class("step step-done")
    page.fill("#step-access textarea[name=note]", "Northwind's Stripe: admin access; webhook docs; signing secret")
    page.locator("#step-access").get_by_role("button", name="Confirm").click()
    expect(page.locator("#step-access")).to_have_class("step step-done")
    expect(page.locator("#test-review [data-review=created]")).to_have_text("1")
    page.get_by_role("button", name="I have reviewed these counts").click()
    expect(page.locator("#step-test_event")).to_have_class("step step-done")
    expect(page.locator("#lifecycle")).to_contain_text("5. publish a metric")
    assert page.locator("#lifecycle").get_by_role("button", name="Activate").is_disabled()
    screenshot(page, "onboarding-gate")

    with live.app.app_context():
        client_id = db.session.get(Connection, connection_id).client_id
    page.goto(live.url(f"/admin/clients/{client_id}/metrics/new"))
    page.fill("input[name=name]", "Card takings")
    page.select_option("select[name=connection_id]", str(connection_id))
    page.fill("input[name=metric_name]", "revenue")
    page.select_option("select[name=period]", "month")
    page.fill("input[name=unit]", "USD")
    page.fill("textarea[name=client_meaning]", "What customers paid by card this month.")
    page.fill("input[name=baseline_value]", "10")
    page.fill("textarea[name=next_action]", "We look at the takings with you every Monday.")
    page.get_by_role("button", name="Save").click()
    row = page.locator("tr", has_text="Card takings")
    row.get_by_role("button", name="Publish").click()
    expect(page.locator("tr", has_text="Card takings")).to_contain_text("published")

    page.goto(live.url(f"/admin/connections/{connection_id}"))
    page.locator("#lifecycle").get_by_role("button", name="Activate").click()
    page.wait_for_selector("#lifecycle .badge.lifecycle-active")
    screenshot(page, "onboarding-checklist")
    # ... and a live payment afterwards reaches the client's card (the test one never does).
    assert stripe_post(ingest_url, stripe_event("evt_e2e_live", 4200, livemode=True), issued) == 202
    page.context.clear_cookies()
    sign_in(page, live, account_state, LOGINS[2]["email"], LOGINS[2]["password"])
    card = page.locator("article.metric", has_text="Card takings")
    expect(card.locator(".value")).to_contain_text("42")
    assert "12.50" not in card.inner_text()


def test_the_gate_shows_what_is_missing_and_keeps_activate_disabled(page, live, account_state):
    with live.app.app_context():
        github = db.session.scalar(db.select(Connection).join(Connection.provider).filter_by(key="github"))
        assert github.lifecycle == "testing"  # the demo leaves it without a client story
        connection_id = github.id
    sign_in(page, live, account_state, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live.url(f"/admin/connections/{connection_id}"))
    lifecycle = page.locator("#lifecycle")
    assert "5. publish a metric" in lifecycle.inner_text()
    assert lifecycle.get_by_role("button", name="Activate").is_disabled()
    assert page.locator("#step-mapping").get_attribute("class") == "step step-done"


def test_client_sees_the_card_and_it_updates_by_polling(page, live, account_state):
    with live.app.app_context():
        connection = acme_stripe()
        secret = _secret_of(connection)
        path = connection.ingest_path
    sign_in(page, live, account_state, CLIENT_EMAIL, CLIENT_PASSWORD)
    card = page.locator("article.metric", has_text="Monthly revenue")
    text = card.inner_text()
    for part in ("Source", "Stripe", "Baseline", "900", "Next action", "Up to date"):
        assert part in text, part
    before = card.locator(".value").inner_text()
    screenshot(page, "portal")
    no_reload_marker(page)

    status, answer = post_webhook(live, path, secret, charge("ch_e2e_poll", 123400))
    assert status == 202, answer
    expect(card.locator(".value")).not_to_have_text(before, timeout=20000)
    assert_not_reloaded(page)


def test_a_client_cannot_reach_admin_pages(page, live, account_state):
    sign_in(page, live, account_state, CLIENT_EMAIL, CLIENT_PASSWORD)
    for path in ("/admin/", "/admin/events", "/admin/connections"):
        response = page.goto(live.url(path))
        assert response.status == 403
        assert "You do not have access" in page.inner_text("main")
