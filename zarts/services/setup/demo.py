"""Demo data for `make run`: two clients, their users, one connection per shipped provider."""
import copy
import json
import uuid

from flask import current_app

from ...extensions import db
from ...models import User
from ...providers import definition
from ..ingest import signatures
from ..proof import metrics, notes
from . import accounts, connections, lifecycle

ADMIN_EMAIL = "admin@demo.zartsalgo.com"
LOGINS = [
    {"role": "admin", "email": ADMIN_EMAIL, "password": "demo-admin-pass"},
    {"role": "client", "email": "maria@acme-dental.example.com", "password": "demo-client-pass"},
    {"role": "client", "email": "lee@northwind-coffee.example.com", "password": "demo-client-pass"},
]
CLIENTS = [
    ("Acme Dental", "acme-dental", [
        ("stripe", "Patient payments feed the monthly revenue card."),
        ("standard_webhooks", "Website form leads feed the new-leads card."),
        ("manual_csv_import", "Front desk exports leads from the booking tool as CSV."),
    ]),
    ("Northwind Coffee", "northwind-coffee", [
        ("shopify", "Online shop orders feed the orders and revenue cards."),
        ("github", "Site releases are reported to the client as delivery notes."),
    ]),
]


METRICS = {
    "stripe": [{"name": "Monthly revenue", "metric_name": "revenue", "period": "month", "unit": "USD",
                "aggregation": "sum", "client_meaning": "What patients paid by card this month.",
                "baseline_value": "900", "baseline_label": "Average month before we connected Stripe",
                "watch_threshold": "800", "action_threshold": "400",
                "next_action": "We review the month with you on the 1st."}],
    "standard_webhooks": [{"name": "New leads", "metric_name": "leads", "period": "month", "unit": "leads",
                           "aggregation": "sum", "client_meaning": "People who asked for an appointment online.",
                           "baseline_mode": "previous_period", "next_action": "Call every new lead within a day."}],
    "shopify": [{"name": "Online orders", "metric_name": "orders", "period": "month", "unit": "count",
                 "aggregation": "sum", "client_meaning": "Orders placed in your online shop this month.",
                 "baseline_value": "3", "baseline_label": "Usual month", "target_value": "5",
                 "next_action": "Autumn blend promotion starts next week."}],
}


def load():
    """Create the demo records unless the demo admin already exists; True when created."""
    if db.session.scalar(db.select(User).filter_by(email=ADMIN_EMAIL)):
        return False
    connections.sync_providers()
    admin = LOGINS[0]
    accounts.create_user(admin["email"], admin["password"], "admin", name="Demo Admin")
    made = []
    for (name, slug, wanted), login in zip(CLIENTS, LOGINS[1:]):
        accounts.create_client(name, slug)
        accounts.create_user(login["email"], login["password"], "client", slug)
        for provider_key, reason in wanted:
            connection, secret = connections.create_connection(provider_key, slug, ADMIN_EMAIL, reason)
            made.append((connection, secret))
    db.session.commit()
    admin_user = accounts.get_user(ADMIN_EMAIL)
    for connection, _secret in made:
        onboard(connection, admin_user)
    for connection, _secret in made:
        for values in METRICS.get(connection.provider.key, ()):
            metric = metrics.save_metric(connection.client, {**values, "connection_id": connection.id}, admin_user)
            metrics.publish(metric, admin_user)
    notes.add_note(made[0][0].client_id, "Payments are connected",
                   "Patient payments from Stripe now update your revenue card within minutes.")
    db.session.commit()
    for connection, secret in made:
        deliver_samples(connection, secret)
    return True


def onboard(connection, admin_user):
    """Walk the onboarding checklist; the GitHub connection is left in testing for a human to finish."""
    steps = [key for key, _ in connections.CHECKLIST_STEPS]
    finish = connection.provider.key != "github"
    for key in steps[:5] if finish else steps[:3]:
        lifecycle.set_step(connection, key, True, admin_user)
    lifecycle.transition(connection, "testing", admin_user)
    if finish:
        lifecycle.transition(connection, "active", admin_user)


def deliver_samples(connection, secret):
    """POST each of the provider's sample events to the real endpoint, plus a few that go wrong."""
    shipped = definition(connection.provider.key)
    if shipped["kind"] != "webhook":
        return
    deliveries = [(event_type, copy.deepcopy(payload)) for event_type, payload in shipped["samples"].items()]
    first_type, first_payload = deliveries[0]
    typed_in_body = "type" in first_payload
    # No external id: dead-lettered, for the admin to fix. An unmapped type: ignored with a reason.
    deliveries.append((first_type, {"type": first_type, "data": {"object": {}}} if typed_in_body else {}))
    deliveries.append(("account.updated", {"type": "account.updated"}) if typed_in_body else ("app/uninstalled", {}))
    client = current_app.test_client()
    sync = current_app.config["OUTBOX_SYNC"]
    current_app.config["OUTBOX_SYNC"] = True  # normalize now: this command exits right after
    try:
        for index, (event_type, payload) in enumerate(deliveries):
            _post(client, connection, secret, event_type, payload, repeat=index == 0)
    finally:
        current_app.config["OUTBOX_SYNC"] = sync


def _post(client, connection, secret, event_type, payload, repeat=False):
    msg_id = f"demo_{uuid.uuid4().hex[:16]}"
    if connection.provider.key == "stripe":
        payload["id"] = msg_id
    body = json.dumps(payload).encode()
    headers = signatures.sign(connection.provider.signature_scheme, body, secret, msg_id=msg_id)
    headers["Content-Type"] = "application/json"
    if connection.provider.key == "github":
        headers["X-GitHub-Event"] = event_type
    if connection.provider.key == "shopify":
        headers["X-Shopify-Topic"] = event_type
    for _ in range(2 if repeat else 1):  # a repeated delivery shows up as a duplicate
        client.post(connection.ingest_path, data=body, headers=headers)
