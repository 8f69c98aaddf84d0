"""What admins and clients do, in a real browser against a running server."""
import copy
import json
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_not_reloaded, login, no_reload_marker, screenshot
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


def test_admin_retries_a_dead_letter_inline(page, live):
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

    login(page, live, ADMIN_EMAIL, ADMIN_PASSWORD)
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


def test_admin_completes_onboarding_and_the_connection_goes_active(page, live):
    with live.app.app_context():
        github = db.session.scalar(db.select(Connection).join(Connection.provider).filter_by(key="github"))
        assert github.lifecycle == "testing"
        connection_id = github.id
    login(page, live, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live.url(f"/admin/connections/{connection_id}"))
    no_reload_marker(page)
    activate = page.locator("#lifecycle").get_by_role("button", name="Activate")
    activate.click()
    page.wait_for_selector("#lifecycle .error")
    assert "finish these onboarding steps" in page.inner_text("#lifecycle")
    for step in ("test_event", "client_story"):
        page.locator(f"#step-{step}").get_by_role("button", name="Mark done").click()
        page.wait_for_selector(f"#step-{step}.step-done")
    page.locator("#lifecycle").get_by_role("button", name="Activate").click()
    page.wait_for_selector("#lifecycle .badge.lifecycle-active")
    assert_not_reloaded(page)
    screenshot(page, "onboarding-checklist")
    with live.app.app_context():
        assert db.session.get(Connection, connection_id).lifecycle == "active"


def test_client_sees_the_card_and_it_updates_by_polling(page, live):
    with live.app.app_context():
        connection = acme_stripe()
        secret = _secret_of(connection)
        path = connection.ingest_path
    login(page, live, CLIENT_EMAIL, CLIENT_PASSWORD)
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


def test_a_client_cannot_reach_admin_pages(page, live):
    login(page, live, CLIENT_EMAIL, CLIENT_PASSWORD)
    for path in ("/admin/", "/admin/events", "/admin/connections"):
        response = page.goto(live.url(path))
        assert response.status == 403
        assert "You do not have access" in page.inner_text("main")
