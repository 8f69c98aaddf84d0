"""An admin maps a new event type by clicking paths seen in real deliveries, previews it and saves it."""
import json
import time
import urllib.request
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.providers.realworld import payload
from zarts.extensions import db
from zarts.models import Connection, ConnectionMapping
from zarts.services.ingest import secrets, signatures
from zarts.services.setup.demo import ADMIN_EMAIL, LOGINS

pytestmark = pytest.mark.e2e
NEW_TYPE = "dependabot_alert"


def deliver_alerts(live, connection_id, path, secret, n=2):
    """Real Dependabot alerts (octokit's example, distinct numbers), signed as GitHub signs them."""
    for i in range(n):
        body = payload("github/dependabot_alert__created")
        body["alert"]["number"] = 500 + i
        raw = json.dumps(body).encode()
        headers = {**signatures.sign("github", raw, secret, msg_id=str(uuid.uuid4())),
                   "X-GitHub-Event": NEW_TYPE, "Content-Type": "application/json"}
        request = urllib.request.Request(live.url(path), data=raw, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202


def test_an_admin_maps_a_new_event_type_by_clicking_paths(open_as, live):
    with live.app.app_context():
        connection = db.session.scalar(db.select(Connection).join(Connection.provider).filter_by(key="github"))
        connection_id, path, secret = connection.id, connection.ingest_path, secrets.decrypt(connection.secret_encrypted)
    deliver_alerts(live, connection_id, path, secret)

    page = open_as(ADMIN_EMAIL, LOGINS[0]["password"])
    deadline = time.monotonic() + 45  # each process writes the paths index every 10 s and each periodic round
    while True:
        page.goto(live.url(f"/admin/connections/{connection_id}/mapping"))
        if page.locator(f"#studio-event-type option[value={NEW_TYPE}]").count() or time.monotonic() > deadline:
            break
        time.sleep(2)
    page.select_option("#studio-event-type", NEW_TYPE)
    picker = page.locator("#mapping-paths")
    expect(picker).to_contain_text("alert.number")
    for path, target in (("alert.number", "external_id"), ("alert.state", "status"),
                         ("alert.updated_at", "occurred_at"), ("alert.html_url", "field")):
        page.get_by_role("button", name=f"Map {path} as {target}").click()
        expect(page.locator("#mapping-editor")).to_contain_text(f"Mapped {path} as {target} in the draft")
    assert '"external_id": "alert.number"' in page.locator("#mapping_json").input_value()
    page.get_by_role("button", name="Preview on stored events").click()
    expect(page.locator("#mapping-preview")).to_contain_text("nothing is written")
    expect(page.locator("#mapping-preview .import-count-created dd")).to_have_text("2")
    page.locator("#studio").scroll_into_view_if_needed()
    page.set_viewport_size({"width": 1440, "height": 1000})
    screenshot(page, "mapping-studio", full_page=False)
    page.fill("#mapping-editor input[name=reason]", "map Dependabot alerts")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#mapping-editor")).to_contain_text("Saved as version")
    with live.app.app_context():
        saved = db.session.scalar(db.select(ConnectionMapping).filter_by(connection_id=connection_id)
                                  .order_by(ConnectionMapping.version.desc()))
        assert saved.mapping["events"][NEW_TYPE]["external_id"] == "alert.number"
        assert saved.reason == "map Dependabot alerts"
