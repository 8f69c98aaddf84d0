"""Connections: create (secret shown once), edit, rotate with overlap, pause/resume, disconnect; all audited."""
import base64
import json
import re
import zlib
from datetime import timedelta

import pytest

from tests.factories import PASSWORD, deliver, go_live, make_client, make_connection, make_user, signed_delivery
from zarts.extensions import db
from zarts.models import AdminAction, Connection, utcnow
from zarts.services.ingest import secrets, targets
from zarts.services.setup import lifecycle

HX = {"HX-Request": "true"}
SECRET_RE = re.compile(r'class="secret-value"[^>]*>([^<]+)<')


def audit_rows(action, connection_id):
    db.session.expire_all()
    return db.session.scalars(db.select(AdminAction).filter_by(action=action, target_id=str(connection_id))
                              .order_by(AdminAction.id)).all()


def reload(connection_id):
    db.session.expire_all()
    return db.session.get(Connection, connection_id)


def ready(connection, actor):
    """Onboarding steps 1-5 done on real evidence, so the connection may go active (not yet active)."""
    go_live(connection, actor, activate=False)


def create_form(client_row, owner, **extra):
    return {"provider": "stripe", "client": client_row.slug, "owner_id": owner.id, "reason": "Feeds the revenue card",
            "name": "", "retry_max_attempts": "6", "retry_base_seconds": "60", "expected_cadence_minutes": "90",
            "portal_visible": "y", **extra}


def test_create_shows_the_secret_once_and_audits_without_it(app, client, admin):
    acme = make_client("Acme Create")
    created = client.post("/admin/connections/new", data=create_form(acme, admin))
    connection = db.session.scalar(db.select(Connection).filter_by(client_id=acme.id))
    # Post/redirect/get: the address bar ends on the connection's own URL, so a reload cannot
    # post the form again, and that page shows the secret once.
    assert created.status_code == 303 and created.headers["Location"] == f"/admin/connections/{connection.id}"
    assert "whsec_" not in created.get_data(as_text=True)
    response = client.get(created.headers["Location"])
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "Connection created" in html
    secret = SECRET_RE.search(html).group(1)
    assert secret == secrets.decrypt(connection.secret_encrypted) and secret.startswith("whsec_")
    assert "will not be shown again" in html and connection.ingest_path in html
    assert (connection.owner_id, connection.reason, connection.retry_max_attempts, connection.retry_base_seconds,
            connection.expected_cadence_seconds, connection.portal_visible, connection.lifecycle) == (
        admin.id, "Feeds the revenue card", 6, 60, 5400, True, "draft")
    assert connection.name == "Acme Create · Stripe"
    [row] = audit_rows("connection.create", connection.id)
    assert row.actor_id == admin.id and row.after["reason"] == "Feeds the revenue card"
    assert secret not in json.dumps([row.before, row.after])
    # Never again: not on the detail page, its fragments or the board.
    for url in (f"/admin/connections/{connection.id}", f"/admin/connections/{connection.id}/card", "/admin/",
                "/admin/connections"):
        assert secret not in client.get(url).get_data(as_text=True), url
    assert deliver(client, connection, secret).status_code == 202  # and it is the real secret


def test_create_via_htmx_goes_to_the_connection_page_which_shows_the_secret_once(app, client, admin):
    acme = make_client("Acme Hx")
    response = client.post("/admin/connections/new", data=create_form(acme, admin), headers=HX)
    connection = db.session.scalar(db.select(Connection).filter_by(client_id=acme.id))
    assert response.headers["HX-Redirect"] == f"/admin/connections/{connection.id}"
    assert SECRET_RE.search(client.get(f"/admin/connections/{connection.id}").get_data(as_text=True))
    assert not SECRET_RE.search(client.get(f"/admin/connections/{connection.id}").get_data(as_text=True))


def test_a_secret_held_for_one_connection_is_not_shown_on_another(app, client, admin):
    acme = make_client("Acme Two")
    other, _ = make_connection("stripe", owner=admin)
    location = client.post("/admin/connections/new", data=create_form(acme, admin)).headers["Location"]
    assert not SECRET_RE.search(client.get(f"/admin/connections/{other.id}").get_data(as_text=True))
    assert SECRET_RE.search(client.get(location).get_data(as_text=True))


def test_a_pasted_provider_secret_is_never_shown(app, client, admin):
    acme = make_client("Acme Pasted")
    pasted = "whsec_" + "a" * 32
    location = client.post("/admin/connections/new", data=create_form(acme, admin, secret=pasted)).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert "Connection created" in html and pasted not in html and not SECRET_RE.search(html)


def test_rotation_without_htmx_redirects_to_the_page_that_shows_the_new_secret_once(app, client, admin):
    connection, old = make_connection("stripe", owner=admin)
    response = client.post(f"/admin/connections/{connection.id}/rotate", data={"overlap_hours": "6"})
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/connections/{connection.id}"
    new = SECRET_RE.search(client.get(response.headers["Location"]).get_data(as_text=True)).group(1)
    assert new == secrets.decrypt(reload(connection.id).secret_encrypted) != old
    assert new not in client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)


def test_the_session_cookie_never_carries_the_secret_readably(app, client, admin):
    acme = make_client("Acme Cookie")
    created = client.post("/admin/connections/new", data=create_form(acme, admin))
    connection = db.session.scalar(db.select(Connection).filter_by(client_id=acme.id))
    secret = secrets.decrypt(connection.secret_encrypted)
    cookie = client.get_cookie("session").value
    payload = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    text = zlib.decompress(raw).decode() if cookie.startswith(".") else raw.decode()
    assert "reveal" in text and secret not in text
    assert created.status_code == 303


@pytest.mark.parametrize("change, error", [
    ({"reason": "  "}, "This field is required."),
    ({"owner_id": "0"}, "Not a valid choice"),
    ({"retry_max_attempts": "0"}, "Number must be between 1 and 20."),
    ({"provider": "nope"}, "Not a valid choice"),
])
def test_invalid_create_rerenders_with_errors(app, client, admin, change, error):
    acme = make_client()
    for headers in ({}, HX):
        response = client.post("/admin/connections/new", data=create_form(acme, admin, **change), headers=headers)
        assert response.status_code == 200
        assert error in response.get_data(as_text=True)
    assert db.session.scalar(db.select(Connection).filter_by(client_id=acme.id)) is None


def test_owner_must_be_an_admin(app, client, admin):
    acme = make_client()
    response = client.post("/admin/connections/new", data=create_form(acme, admin, owner_id=make_user("client").id))
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)


def test_list_and_detail(app, client, admin):
    connection, _ = make_connection("github", owner=admin)
    listing = client.get("/admin/connections").get_data(as_text=True)
    assert connection.name in listing and "1/6" in listing  # step 2: its secret is set
    detail = client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
    for text in (connection.reason, connection.ingest_path, "Onboarding checklist", "Manual update", "Rotate secret"):
        assert text in detail
    assert 'hx-confirm="Disconnect' in detail and 'hx-confirm="Put a new secret in force' in detail


def test_edit_updates_and_audits_only_what_changed(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    old_name = connection.name
    new_owner = make_user("admin")
    form = {"name": "Renamed", "owner_id": new_owner.id, "reason": connection.reason, "retry_max_attempts": "3",
            "retry_base_seconds": str(connection.retry_base_seconds), "expected_cadence_minutes": "",
            "portal_visible": ""}
    response = client.post(f"/admin/connections/{connection.id}/edit", data=form)
    assert response.status_code == 302
    fresh = reload(connection.id)
    assert (fresh.name, fresh.owner_id, fresh.retry_max_attempts, fresh.portal_visible) == ("Renamed", new_owner.id, 3, False)
    [row] = audit_rows("connection.update", connection.id)
    assert row.before == {"name": old_name, "owner_id": admin.id, "retry_max_attempts": 5, "portal_visible": True}
    assert row.after == {"name": "Renamed", "owner_id": new_owner.id, "retry_max_attempts": 3, "portal_visible": False}
    response = client.post(f"/admin/connections/{connection.id}/edit", data={**form, "reason": ""})
    assert response.status_code == 200 and "This field is required." in response.get_data(as_text=True)


def test_rotation_shows_the_new_secret_once_and_keeps_the_old_one_valid(app, client, admin):
    connection, old = make_connection("stripe", owner=admin)
    response = client.post(f"/admin/connections/{connection.id}/rotate", data={"overlap_hours": "6"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == json.dumps({"secret-rotated": connection.id})
    assert "<html" not in html and 'id="secret"' in html
    new = SECRET_RE.search(html).group(1)
    fresh = reload(connection.id)
    assert secrets.decrypt(fresh.secret_encrypted) == new != old
    assert secrets.decrypt(fresh.previous_secret_encrypted) == old
    assert abs(fresh.previous_secret_expires_at - (utcnow() + timedelta(hours=6))) < timedelta(minutes=1)
    [row] = audit_rows("connection.rotate_secret", connection.id)
    assert row.after["overlap_hours"] == 6 and new not in json.dumps(row.after) and old not in json.dumps(row.after)
    assert deliver(client, connection, old).status_code == 202  # within the overlap
    assert deliver(client, connection, new).status_code == 202
    page = client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
    assert new not in page and "previous secret stays valid until" in page
    # Once the overlap is over, the old secret is refused.
    fresh.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    targets.forget_all()  # the endpoint caches a connection for up to 5 s
    body, headers = signed_delivery("stripe", old)
    assert client.post(connection.ingest_path, data=body, headers=headers).status_code == 401


def test_rotation_without_overlap_retires_the_old_secret_at_once(app, client, admin):
    connection, old = make_connection("standard_webhooks", owner=admin)
    deliver(client, connection, old)  # warm the ingest cache with the old secret
    client.post(f"/admin/connections/{connection.id}/rotate", data={"overlap_hours": "0"}, headers=HX)
    body, headers = signed_delivery("standard_webhooks", old)
    assert client.post(connection.ingest_path, data=body, headers=headers).status_code == 401
    assert reload(connection.id).previous_secret_encrypted is None


def test_rotation_overlap_defaults_from_config_and_is_bounded(app, client, admin):
    app.config["SECRET_ROTATION_OVERLAP_HOURS"] = 48
    connection, _ = make_connection("stripe", owner=admin)
    assert 'value="48"' in client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
    response = client.post(f"/admin/connections/{connection.id}/rotate", data={"overlap_hours": "9999"}, headers=HX)
    assert response.status_code == 200 and "Number must be between 0 and 720." in response.get_data(as_text=True)
    assert "HX-Trigger" not in response.headers and not audit_rows("connection.rotate_secret", connection.id)


def test_pause_needs_a_reason_then_resume(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    ready(connection, admin)
    lifecycle.transition(connection, "active", admin)
    url = f"/admin/connections/{connection.id}/lifecycle"
    response = client.post(url, data={"to": "paused", "reason": ""}, headers=HX)
    assert response.status_code == 200 and "a reason is required to pause" in response.get_data(as_text=True)
    assert reload(connection.id).lifecycle == "active" and "HX-Trigger" not in response.headers
    response = client.post(url, data={"to": "paused", "reason": "Provider outage"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.headers["HX-Trigger"] == json.dumps({"lifecycle-changed": connection.id})
    assert 'id="lifecycle"' in html and "Provider outage" in html and "Resume" in html
    fresh = reload(connection.id)
    assert (fresh.lifecycle, fresh.paused_reason) == ("paused", "Provider outage")
    [row] = audit_rows("connection.pause", connection.id)
    assert row.reason == "Provider outage" and row.before["lifecycle"] == "active" and row.after["lifecycle"] == "paused"
    client.post(url, data={"to": "active"}, headers=HX)
    assert reload(connection.id).lifecycle == "active" and reload(connection.id).paused_reason is None
    assert audit_rows("connection.resume", connection.id)


def test_disconnect_answers_410_afterwards(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    deliver(client, connection, secret)  # the ingest cache now holds the connection as draft
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "disconnected"}, headers=HX)
    assert response.status_code == 200 and "Disconnected" in response.get_data(as_text=True)
    assert reload(connection.id).lifecycle == "disconnected"
    assert audit_rows("connection.disconnect", connection.id)
    assert deliver(client, connection, secret).status_code == 410
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "active"}, headers=HX)
    assert "a disconnected connection cannot become active" in response.get_data(as_text=True)


def test_lifecycle_without_htmx_redirects_with_a_message(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    response = client.post(f"/admin/connections/{connection.id}/lifecycle", data={"to": "testing"})
    assert response.status_code == 302
    assert "Testing started." in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("path", ["", "/edit", "/card", "/checklist", "/lifecycle", "/mapping", "/test-review"])
def test_unknown_connection_is_404(app, client, admin, path):
    assert client.get(f"/admin/connections/424242{path}").status_code == 404
    assert client.get(f"/admin/connections/424242{path}", headers=HX).status_code == 404


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_inline_actions_need_the_csrf_token(csrf_on, app, client):
    admin = make_user("admin")
    login_page = client.get("/login").get_data(as_text=True)
    login_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": login_token})
    connection, _ = make_connection("stripe", owner=admin)
    page = client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    url = f"/admin/connections/{connection.id}/rotate"
    assert client.post(url, data={"overlap_hours": "1"}, headers=HX).status_code == 400
    response = client.post(url, data={"overlap_hours": "1"}, headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 200 and SECRET_RE.search(response.get_data(as_text=True))


def test_health_thresholds_are_set_in_the_edit_form_validated_and_audited(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    form = {"name": connection.name, "owner_id": admin.id, "reason": connection.reason, "retry_max_attempts": "5",
            "retry_base_seconds": str(connection.retry_base_seconds), "portal_visible": "y",
            "thresholds-rejections_degraded": "10", "thresholds-window_seconds": "600",
            "thresholds-dead_letters_error": ""}
    response = client.post(f"/admin/connections/{connection.id}/edit", data=form)
    assert response.status_code == 302
    assert reload(connection.id).health_thresholds == {"rejections_degraded": 10, "window_seconds": 600}
    [row] = audit_rows("connection.update", connection.id)
    assert row.before == {"health_thresholds": {}}
    assert row.after == {"health_thresholds": {"rejections_degraded": 10, "window_seconds": 600}}

    page = client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
    assert "rejections degraded 10, window seconds 600; the rest default" in page
    edit = client.get(f"/admin/connections/{connection.id}/edit").get_data(as_text=True)
    assert re.search(r'name="thresholds-rejections_degraded"[^>]*value="10"', edit)
    assert "<details class=\"thresholds\" open>" in edit

    response = client.post(f"/admin/connections/{connection.id}/edit",
                           data={**form, "thresholds-window_seconds": "5"})  # below the 60 s floor
    assert response.status_code == 200
    assert "Number must be between 60 and 604800." in response.get_data(as_text=True)
    assert reload(connection.id).health_thresholds == {"rejections_degraded": 10, "window_seconds": 600}

    response = client.post(f"/admin/connections/{connection.id}/edit",
                           data={**form, "thresholds-rejections_degraded": "", "thresholds-window_seconds": ""})
    assert response.status_code == 302 and reload(connection.id).health_thresholds == {}


def test_the_thresholds_form_covers_every_health_threshold(app):
    from zarts.admin.forms import HealthThresholdsForm
    from zarts.services.health.rules import LIMITS

    assert set(HealthThresholdsForm()._fields) == set(LIMITS)


def test_client_uploads_are_turned_on_per_csv_connection_and_audited(app, client, admin):
    connection, _ = make_connection("manual_csv_import", owner=admin)
    assert 'name="client_upload"' in client.get(f"/admin/connections/{connection.id}/edit").get_data(as_text=True)
    stripe, _ = make_connection("stripe", owner=admin)
    assert 'name="client_upload"' not in client.get(f"/admin/connections/{stripe.id}/edit").get_data(as_text=True)
    form = {"name": connection.name, "owner_id": admin.id, "reason": connection.reason, "retry_max_attempts": "5",
            "retry_base_seconds": "120", "expected_cadence_minutes": "", "portal_visible": "y", "client_upload": "y"}
    assert client.post(f"/admin/connections/{connection.id}/edit", data=form).status_code == 302
    assert reload(connection.id).client_upload is True
    [row] = audit_rows("connection.update", connection.id)
    assert row.before["client_upload"] is False and row.after["client_upload"] is True
    detail = client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
    assert "the client may upload their own files" in detail and connection.ingest_path in detail
