"""Demo data for `make run`: two clients, their users, one connection per shipped provider.

Each connection is onboarded as an admin would: account access confirmed with a note, the
provider's own secret pasted where the provider issues it, a test event sent and its counts
reviewed, a metric published with its client story, then activated; live samples follow. The
GitHub and CSV connections are left in testing for a person to finish (no client story yet).
"""
import copy
import json
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from ...extensions import db
from ...models import MetricDefinition, User
from ...providers import definition
from ..ingest import signatures
from ..pipeline import normalize
from ..proof import metrics, notes, outcomes
from . import accounts, connections, gate, lifecycle, onboarding

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
            issued = _providers_secret(provider_key)  # what Stripe or Shopify would show the admin
            connection, generated = connections.create_connection(provider_key, slug, ADMIN_EMAIL, reason,
                                                                   secret=issued)
            made.append((connection, issued or generated))
    db.session.commit()
    admin_user = accounts.get_user(ADMIN_EMAIL)
    for connection, _secret in made:
        onboard(connection, admin_user)
        if connection.provider.kind == "csv":  # the front desk uploads its own exports
            connection.client_upload = True
    notes.add_note(made[0][0].client_id, "Payments are connected",
                   "Patient payments from Stripe now update your revenue card within minutes.")
    db.session.commit()
    for connection, secret in made:
        if connection.lifecycle == "active":
            deliver_history(connection, secret)
            deliver_samples(connection, secret)
    for metric in db.session.scalars(db.select(MetricDefinition).filter_by(published=True)):
        outcomes.refresh_card(metric)  # every card drawn from all of it, history included
    db.session.commit()
    return True


def onboard(connection, admin_user):
    """The onboarding checklist, on evidence: access confirmed, a test event reviewed, a metric with
    its story published, then live. Connections without a metric stay in testing."""
    gate.confirm_access(connection, admin_user, f"Demo: admin access to the client's {connection.provider.name} "
                        "account checked; webhook docs, signing-secret auth and read-only event scopes reviewed.")
    if connection.provider.kind == "webhook":
        sent = onboarding.send_test_event(connection, admin_user)
        if sent["queued"]:  # with Redis: the demo does not wait for a worker to come along
            normalize.process([sent["event_id"]])
        gate.review_test_data(connection, admin_user)
    else:
        lifecycle.transition(connection, "testing", admin_user)
    for values in METRICS.get(connection.provider.key, ()):
        metric = metrics.save_metric(connection.client, {**values, "connection_id": connection.id}, admin_user)
        metrics.publish(metric, admin_user)
    db.session.commit()
    if not gate.missing(connection):
        lifecycle.transition(connection, "active", admin_user)


def _providers_secret(provider_key):
    """A stand-in for the secret the provider's dashboard shows (None where zarts issues it)."""
    if provider_key == "stripe":
        return "whsec_" + secrets.token_urlsafe(24)
    if provider_key == "shopify":
        return "shpss_" + secrets.token_hex(16)
    return None


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
    for index, (event_type, payload) in enumerate(deliveries):
        _post(connection, secret, event_type, payload, repeat=index == 0)


# Earlier months, so the cards' trends have something to draw: (months back, how many, Stripe amount in cents).
HISTORY = ((3, 2, 45000), (2, 3, 33400), (1, 2, 55000))
HISTORY_TYPES = {"stripe": "charge.succeeded", "standard_webhooks": "lead.created", "shopify": "orders/create"}


def deliver_history(connection, secret):
    """POST dated copies of a sample for each of the last three months (live data of earlier periods)."""
    key = connection.provider.key
    if key not in HISTORY_TYPES:
        return
    sample = definition(key)["samples"][HISTORY_TYPES[key]]
    this_month = datetime.now(timezone.utc).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    for back, count, cents in HISTORY:
        month = (this_month - timedelta(days=28 * back)).replace(day=1)
        for n in range(count):
            when = month.replace(day=3 + 7 * n)
            _post(connection, secret, HISTORY_TYPES[key], _dated(key, sample, when, f"{back}{n}", cents))


def _dated(key, sample, when, tag, cents):
    """A copy of a provider's sample that happened at `when`, about an object of its own."""
    payload, iso = copy.deepcopy(sample), when.isoformat().replace("+00:00", "Z")
    if key == "stripe":
        payload["created"] = payload["data"]["object"]["created"] = int(when.timestamp())
        payload["data"]["object"].update(id=f"ch_demo_history_{tag}", amount=cents, amount_captured=cents)
    elif key == "standard_webhooks":
        payload["timestamp"] = iso
        payload["data"].update(id=f"lead_demo_history_{tag}", created_at=iso, updated_at=iso)
    else:  # shopify
        payload.update(id=int(f"9000{tag}"), created_at=iso, updated_at=iso)
    return payload


def _post(connection, secret, event_type, payload, repeat=False):
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
        onboarding.deliver(connection, body, headers)
