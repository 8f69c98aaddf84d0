"""Secrets the provider issues: pasted on create or rotation (form and CLI), checked per scheme,
stored encrypted, never shown, and accepted when the provider's own library signs with them."""
import base64
import json
import os
import time
from datetime import timedelta

import stripe
from standardwebhooks import Webhook

from tests.factories import make_client, make_user
from zarts.extensions import db
from zarts.models import AdminAction, Connection, utcnow
from zarts.services.ingest import targets

HX = {"HX-Request": "true"}
STRIPE_SECRET = "whsec_" + base64.b32encode(os.urandom(20)).decode().lower()  # as Stripe's dashboard shows one


def create(client, admin, provider, secret):
    form = {"provider": provider, "client": make_client().slug, "owner_id": admin.id, "reason": "Card payments",
            "retry_max_attempts": 5, "retry_base_seconds": 120, "portal_visible": "y", "secret": secret}
    response = client.post("/admin/connections/new", data=form, follow_redirects=True)
    db.session.rollback()
    return response, db.session.scalar(db.select(Connection).order_by(Connection.id.desc()))


def stripe_delivery(secret, event_id):
    """A Stripe event body and its Stripe-Signature header, made by Stripe's own library."""
    payload = json.dumps({"id": event_id, "object": "event", "type": "charge.succeeded", "livemode": True,
                          "created": int(time.time()), "data": {"object": {"id": f"ch_{event_id}", "amount": 1200,
                                                                           "currency": "usd", "status": "succeeded"}}})
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    return payload.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


def post(client, connection, body, headers):
    return client.post(connection.ingest_path, data=body, headers=headers).status_code


def test_stripe_connected_with_its_own_secret_accepts_what_stripe_signs(app, client, login):
    admin = make_user("admin")
    login(admin)
    response, connection = create(client, admin, "stripe", STRIPE_SECRET)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and STRIPE_SECRET not in page and "Copy this secret now" not in page
    assert connection.secret_source == "provider"
    assert STRIPE_SECRET.encode() not in bytes(connection.secret_encrypted)
    assert post(client, connection, *stripe_delivery(STRIPE_SECRET, "evt_pasted_1")) == 202
    assert post(client, connection, *stripe_delivery("whsec_someone_else", "evt_pasted_2")) == 401
    audit = json.dumps([a.after for a in db.session.scalars(db.select(AdminAction))])
    assert STRIPE_SECRET not in audit and '"secret_source": "provider"' in audit


def test_a_rotated_pasted_secret_works_and_the_old_one_only_during_the_overlap(app, client, login):
    admin = make_user("admin")
    login(admin)
    _, connection = create(client, admin, "stripe", STRIPE_SECRET)
    rolled = "whsec_" + base64.b32encode(os.urandom(20)).decode().lower()  # Stripe's "Roll secret"
    html = client.post(f"/admin/connections/{connection.id}/rotate", headers=HX,
                       data={"secret": rolled, "overlap_hours": 24}).get_data(as_text=True)
    assert "new secret is in force" in html and rolled not in html
    assert post(client, connection, *stripe_delivery(rolled, "evt_rolled_1")) == 202
    assert post(client, connection, *stripe_delivery(STRIPE_SECRET, "evt_old_1")) == 202  # within the overlap
    row = db.session.get(Connection, connection.id)
    row.previous_secret_expires_at = utcnow() - timedelta(seconds=1)  # the overlap is over
    db.session.commit()
    targets.forget_all()  # as the endpoint's 5 s cache would have by the time a real overlap ends
    assert post(client, connection, *stripe_delivery(STRIPE_SECRET, "evt_old_2")) == 401
    assert post(client, connection, *stripe_delivery(rolled, "evt_rolled_2")) == 202


def test_a_svix_style_standard_webhooks_secret_is_checked_and_accepted(app, client, login):
    admin = make_user("admin")
    login(admin)
    issued = "whsec_" + base64.b64encode(os.urandom(24)).decode()  # what a Svix-based sender shows
    _, connection = create(client, admin, "standard_webhooks", issued)
    body = json.dumps({"type": "contact.created", "timestamp": "2026-11-29T18:00:00Z",
                       "data": {"id": "contact_1", "email": "ann@example.com"}})
    when = utcnow()
    signature = Webhook(issued).sign("msg_svix_1", when, body)
    headers = {"webhook-id": "msg_svix_1", "webhook-timestamp": str(int(when.timestamp())),
               "webhook-signature": signature, "Content-Type": "application/json"}
    assert post(client, connection, body.encode(), headers) == 202


def test_a_pasted_secret_that_cannot_be_right_is_a_form_error(app, client, login):
    admin = make_user("admin")
    login(admin)
    for provider, secret, says in (
            ("standard_webhooks", "sk_live_abc", "starts with whsec_"),
            ("standard_webhooks", "whsec_not base64!", "one line"),
            ("standard_webhooks", "whsec_" + base64.b64encode(b"short").decode(), "24 to 64"),
            ("stripe", "whsec_with space", "without spaces")):
        before = db.session.scalar(db.select(db.func.count(Connection.id)))
        response, _ = create(client, admin, provider, secret)
        assert says in response.get_data(as_text=True), (provider, secret)
        assert db.session.scalar(db.select(db.func.count(Connection.id))) == before


def test_the_cli_takes_the_providers_secret_from_standard_input(app, runner):
    admin = make_user("admin")
    client = make_client()
    out = runner.invoke(args=["zarts", "create-connection", "--provider", "stripe", "--client", client.slug,
                              "--owner", admin.email, "--reason", "Card payments", "--secret-stdin", "--json"],
                        input=STRIPE_SECRET + "\n")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert "secret" not in data and data["secret_source"] == "provider" and STRIPE_SECRET not in out.output
    rolled = "whsec_rolled_" + base64.b32encode(os.urandom(10)).decode().lower()
    out = runner.invoke(args=["zarts", "rotate-secret", "--connection", str(data["id"]), "--secret-stdin",
                              "--overlap-hours", "2", "--json"], input=rolled + "\n")
    rotated = json.loads(out.output)
    assert out.exit_code == 0 and "secret" not in rotated and rotated["previous_secret_valid_until"]
    out = runner.invoke(args=["zarts", "rotate-secret", "--connection", str(data["id"]), "--json"])
    generated = json.loads(out.output)
    assert generated["secret"].startswith("whsec_") and generated["secret_source"] == "zarts"
    connection = db.session.get(Connection, data["id"])
    assert post(app.test_client(), connection, *stripe_delivery(generated["secret"], "evt_cli_1")) == 202
    assert post(app.test_client(), connection, *stripe_delivery(rolled, "evt_cli_2")) == 202  # in its overlap
    out = runner.invoke(args=["zarts", "rotate-secret", "--connection", str(data["id"]), "--secret-stdin"],
                        input="\n")
    assert out.exit_code == 1 and out.output.startswith("error: no secret on standard input")
