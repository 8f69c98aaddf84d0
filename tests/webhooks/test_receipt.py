"""The provider-facing contract, row by row, for every signature scheme."""
import json
import time

import pytest
from werkzeug.test import EnvironBuilder

from tests.factories import make_connection, make_user, signed_delivery
from zarts.extensions import db
from zarts.models import REJECTIONS_KEPT, RawEvent, RejectedDelivery, SyncError, WebhookEvent

PROVIDERS = ["standard_webhooks", "stripe", "github", "shopify"]


@pytest.fixture(params=PROVIDERS)
def conn(request, app):
    """(connection, secret) for each webhook provider in turn."""
    return make_connection(request.param)


def post(client, connection, body, headers):
    return client.post(connection.ingest_path, data=body, headers=headers)


def events_of(connection):
    return list(db.session.scalars(db.select(WebhookEvent).filter_by(connection_id=connection.id)))


def test_new_event_is_accepted_and_stored_with_raw_bytes(client, conn):
    connection, secret = conn
    body, headers = signed_delivery(connection.provider.key, secret)
    response = post(client, connection, body, headers)
    assert response.status_code == 202
    assert response.get_json()["status"] == "accepted"
    event = db.session.get(WebhookEvent, response.get_json()["event_id"])
    assert event.status in ("received", "queued", "normalized") and event.connection_id == connection.id
    assert event.event_type
    assert event.payload_summary["event_type"] == event.event_type
    raw = db.session.scalar(db.select(RawEvent).filter_by(webhook_event_id=event.id))
    assert bytes(raw.body) == body


def test_same_delivery_again_is_a_duplicate_of_the_original(client, conn):
    connection, secret = conn
    body, headers = signed_delivery(connection.provider.key, secret)
    first = post(client, connection, body, headers).get_json()
    again = post(client, connection, body, headers)
    assert again.status_code == 200
    assert again.get_json() == {"event_id": first["event_id"], "status": "duplicate"}
    [event] = events_of(connection)
    assert event.duplicate_count == 1 and event.last_duplicate_at is not None


@pytest.mark.parametrize("breakage", ["missing", "wrong_secret", "tampered"])
def test_bad_signature_is_401_and_only_counted(client, conn, breakage):
    connection, secret = conn
    body, headers = signed_delivery(connection.provider.key, "whsec_" + "A" * 32 if breakage == "wrong_secret" else secret)
    if breakage == "missing":
        headers = {"Content-Type": "application/json"}
    if breakage == "tampered":
        body = body.replace(b"{", b"{ ", 1)
    response = post(client, connection, body, headers)
    assert response.status_code == 401
    assert "error" in response.get_json()
    assert events_of(connection) == []
    assert db.session.scalar(db.select(RawEvent.id)) is None
    db.session.refresh(connection)
    assert connection.rejection_count == 1 and connection.last_rejection_reason


@pytest.mark.parametrize("provider_key", ["standard_webhooks", "stripe"])
# Through the HTTP layer the clock moves between signing and checking, so these stay a few seconds
# clear of the 300 s edge; the exact edges (300 passes, 301 fails) are in test_signatures.py.
@pytest.mark.parametrize("skew,status", [(0, 202), (295, 202), (-295, 202), (305, 401), (-305, 401), (3600, 401)])
def test_timestamp_tolerance_edges(client, app, provider_key, skew, status):
    connection, secret = make_connection(provider_key)
    body, headers = signed_delivery(provider_key, secret, timestamp=int(time.time()) + skew)
    assert post(client, connection, body, headers).status_code == status


def test_unknown_provider_or_connection_is_404(client, app):
    connection, secret = make_connection("stripe")
    body, headers = signed_delivery("stripe", secret)
    assert client.post(f"/webhooks/nope/{connection.connection_key}", data=body, headers=headers).status_code == 404
    assert client.post("/webhooks/stripe/not-a-key", data=body, headers=headers).status_code == 404
    assert client.post(f"/webhooks/github/{connection.connection_key}", data=body, headers=headers).status_code == 404


def test_disconnected_connection_is_410(client, conn):
    connection, secret = conn
    connection.lifecycle = "disconnected"
    db.session.commit()
    body, headers = signed_delivery(connection.provider.key, secret)
    assert post(client, connection, body, headers).status_code == 410
    assert events_of(connection) == []


def test_body_over_the_limit_is_413(client, app, conn):
    connection, secret = conn
    app.config["WEBHOOK_MAX_BYTES"] = 2048
    payload = {"type": "x", "id": "big", "padding": "x" * 4096}
    body, headers = signed_delivery(connection.provider.key, secret, payload=payload)
    response = post(client, connection, body, headers)
    assert response.status_code == 413
    assert events_of(connection) == []
    db.session.refresh(connection)
    assert connection.rejection_count == 1


def test_body_over_the_limit_without_content_length_is_413(app, conn):
    connection, secret = conn
    app.config["WEBHOOK_MAX_BYTES"] = 1024
    body, headers = signed_delivery(connection.provider.key, secret, payload={"pad": "y" * 5000})

    environ = EnvironBuilder(path=connection.ingest_path, method="POST", data=body, headers=headers).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True  # as gunicorn marks a chunked request body
    response = app.test_client().open(environ)
    assert response.status_code == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_not_json_is_415(client, conn, content_type):
    connection, secret = conn
    body, headers = signed_delivery(connection.provider.key, secret)
    headers["Content-Type"] = content_type
    response = post(client, connection, body, headers)
    assert response.status_code == 415
    assert events_of(connection) == []


def test_json_with_charset_and_vendor_types_are_accepted(client, app):
    connection, secret = make_connection("github")
    for content_type in ("application/json; charset=utf-8", "application/vnd.github+json"):
        body, headers = signed_delivery("github", secret)
        headers["Content-Type"] = content_type
        assert post(client, connection, body, headers).status_code == 202


def test_signed_but_unparseable_is_400_and_kept(client, conn):
    connection, secret = conn
    body, headers = signed_delivery(connection.provider.key, secret, payload=b'{"id": "evt_1", "oops":')
    response = post(client, connection, body, headers)
    assert response.status_code == 400
    [event] = events_of(connection)
    assert event.status == "dead_lettered"
    assert bytes(event.raw_event.body) == body
    error = db.session.scalar(db.select(SyncError).filter_by(webhook_event_id=event.id))
    assert error.stage == "parse" and not error.transient


def test_rotation_keeps_the_previous_secret_valid_for_the_overlap(client, app):
    from datetime import timedelta

    from zarts.models import utcnow
    from zarts.services.ingest import secrets

    connection, old_secret = make_connection("github")
    new_secret = "rotated-" + old_secret
    connection.previous_secret_encrypted = connection.secret_encrypted
    overlap_ends = utcnow() + timedelta(seconds=1.5)
    connection.previous_secret_expires_at = overlap_ends
    connection.secret_encrypted = secrets.encrypt(new_secret)
    db.session.commit()
    for secret in (new_secret, old_secret):
        body, headers = signed_delivery("github", secret)
        assert post(client, connection, body, headers).status_code == 202
    time.sleep(max(0, (overlap_ends - utcnow()).total_seconds()) + 0.1)
    body, headers = signed_delivery("github", new_secret)
    assert post(client, connection, body, headers).status_code == 202
    body, headers = signed_delivery("github", old_secret)
    assert post(client, connection, body, headers).status_code == 401


def test_payload_summary_masks_sensitive_values(client, app):
    connection, secret = make_connection("stripe")
    payload = {"type": "charge.succeeded", "data": {"object": {"id": "ch_1", "billing_details": {
        "email": "MARKER-EMAIL@example.com", "phone": "MARKER-PHONE"}}}}
    body, headers = signed_delivery("stripe", secret, payload=payload)
    event_id = post(client, connection, body, headers).get_json()["event_id"]
    summary = json.dumps(db.session.get(WebhookEvent, event_id).payload_summary)
    assert "ch_1" in summary
    assert "MARKER" not in summary


def test_stored_headers_never_keep_the_signature(client, app):
    connection, secret = make_connection("github")
    body, headers = signed_delivery("github", secret)
    event_id = post(client, connection, body, headers).get_json()["event_id"]
    raw = db.session.scalar(db.select(RawEvent).filter_by(webhook_event_id=event_id))
    assert headers["X-Hub-Signature-256"] not in json.dumps(raw.headers)


def test_dedupe_falls_back_to_the_body_hash(client, app):
    connection, secret = make_connection("stripe")
    payload = {"type": "charge.succeeded", "data": {}}  # no id: dedupe by SHA-256 of the body
    body, headers = signed_delivery("stripe", secret, payload=payload)
    first = post(client, connection, body, headers).get_json()
    again = post(client, connection, body, headers).get_json()
    assert again == {"event_id": first["event_id"], "status": "duplicate"}
    assert events_of(connection)[0].dedupe_key.startswith("sha256:")


def test_a_delivery_is_never_answered_with_a_session_cookie(client, conn):
    connection, secret = conn
    body, headers = signed_delivery(connection.provider.key, secret)
    response = post(client, connection, body, headers)
    assert "Set-Cookie" not in response.headers


def test_paused_connections_still_accept(client, app):
    connection, secret = make_connection("shopify")
    connection.lifecycle = "paused"
    db.session.commit()
    body, headers = signed_delivery("shopify", secret)
    assert post(client, connection, body, headers).status_code == 202


def test_get_is_not_allowed(client, app):
    connection, _ = make_connection("stripe")
    response = client.get(connection.ingest_path)
    assert response.status_code == 405
    assert response.is_json


def test_a_per_connection_rate_limit_answers_429_with_retry_after(client, app):
    connection, secret = make_connection("github")
    connection.webhook_rate_limit_per_minute = 3
    db.session.commit()
    codes = []
    for _ in range(5):
        body, headers = signed_delivery("github", secret)
        response = post(client, connection, body, headers)
        codes.append(response.status_code)
    assert codes == [202, 202, 202, 429, 429]
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert len(events_of(connection)) == 3
    body, headers = signed_delivery("github", "forged")  # forged traffic is refused before counting
    assert post(client, connection, body, headers).status_code == 401


def test_pull_sync_connections_take_no_deliveries(client, app):
    connection, _ = make_connection("generic_http_sync")
    response = client.post(connection.ingest_path, data=b'{"type": "row", "row_key": "x"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 404
    assert events_of(connection) == []


def test_csv_connections_take_only_signed_deliveries(client, app):
    """They take files and completion events by webhook (tests/imports/test_delivery.py), signed."""
    connection, _ = make_connection("manual_csv_import")
    response = client.post(connection.ingest_path, data=b'{"type": "row", "row_key": "x"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert events_of(connection) == []


def test_the_last_refused_deliveries_are_kept_in_a_bounded_ring_without_bodies(client, conn, login):
    connection, secret = conn
    marker = "BODY_MARKER_5521"
    for n in range(REJECTIONS_KEPT + 5):
        body, headers = signed_delivery(connection.provider.key, "whsec_" + "A" * 32)
        post(client, connection, body.replace(b"{", b'{"note": "%s %d", ' % (marker.encode(), n), 1), headers)
    post(client, connection, b"x" * 10, {"Content-Type": "text/plain"})  # refused for another reason
    db.session.expire_all()
    rows = db.session.scalars(db.select(RejectedDelivery).filter_by(connection_id=connection.id)).all()
    assert len(rows) == REJECTIONS_KEPT  # a flood keeps the ring at its size
    login(make_user("admin"))
    html = client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
    section = html[html.index('id="rejections"'):html.index("</details>", html.index('id="rejections"'))]
    assert f"Last {REJECTIONS_KEPT} refused deliveries" in section and section.count("<tr>") == REJECTIONS_KEPT + 1
    newest = section[section.index("<tr>", section.index("</thead>")):]
    assert newest[:newest.index("</tr>")].count('<td data-label="Answer">415</td>') == 1  # newest first
    assert section.count('<td data-label="Answer">401</td>') == REJECTIONS_KEPT - 1 and marker not in html
