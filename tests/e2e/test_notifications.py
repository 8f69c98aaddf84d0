"""An admin sets up where alerts go, a dead letter happens, and the alert shows in the log and arrives."""
import json
import time
import urllib.request
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from zarts.extensions import db
from zarts.models import Connection
from zarts.services.ingest import secrets, signatures
from zarts.services.setup.demo import ADMIN_EMAIL, LOGINS

pytestmark = pytest.mark.e2e
ADMIN_PASSWORD = LOGINS[0]["password"]


def broken_charge(live):
    """A live Stripe event the mapping cannot place (no charge id), signed and sent to the running server."""
    with live.app.app_context():
        connection = db.session.scalar(db.select(Connection).join(Connection.provider).filter_by(key="stripe"))
        path, secret, connection_id = connection.ingest_path, secrets.decrypt(connection.secret_encrypted), connection.id
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps({"id": event_id, "type": "charge.succeeded", "livemode": True, "created": int(time.time()),
                       "data": {"object": {"object": "charge", "amount": 100}}}).encode()
    headers = {**signatures.sign("stripe", body, secret, msg_id=event_id), "Content-Type": "application/json"}
    request = urllib.request.Request(live.url(path), data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    return connection_id


def test_an_admin_adds_an_email_destination_and_sees_a_dead_letter_alert_in_the_log(open_as, live):
    page = open_as(ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live.url("/admin/notifications"))
    page.select_option("select[name=kind]", "email")
    page.fill("input[name=target]", "ops@agency.example")
    page.select_option("select[name=scope]", "me")
    page.get_by_role("button", name="Add destination").click()
    expect(page.locator("#destinations")).to_contain_text("ops@agency.example")
    connection_id = broken_charge(live)

    deadline = time.monotonic() + 40  # the app's own periodic round sends what is due (every 15 s)
    while time.monotonic() < deadline:
        page.goto(live.url("/admin/notifications?status=sent"))
        if "dead-lettered on" in page.locator("#log").inner_text():
            break
        time.sleep(2)
    log = page.locator("#log")
    expect(log).to_contain_text("1 event dead-lettered on")
    expect(log).to_contain_text("ops@agency.example")
    page.goto(live.url("/admin/notifications"))
    screenshot(page, "notifications")
    mail = [m for m in live.mail.messages if "dead-lettered" in m.subject]
    assert mail and mail[0].to == "ops@agency.example"
    assert f"/admin/events?connection={connection_id}&status=dead_lettered" in mail[0].text


def test_an_admin_previews_a_clients_digest(open_as, live):
    with live.app.app_context():
        from zarts.models import Client

        client_id = db.session.scalar(db.select(Client.id).filter_by(slug="acme-dental"))
    page = open_as(ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live.url(f"/admin/clients/{client_id}/digest"))
    expect(page.locator("main")).to_contain_text("Acme Dental")
    expect(page.frame_locator("iframe").locator("body")).to_contain_text("Monthly revenue")
    page.goto(live.url(f"/admin/clients/{client_id}/digest/email"))
    page.set_viewport_size({"width": 720, "height": 900})
    screenshot(page, "digest")
