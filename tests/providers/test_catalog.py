"""Every real payload, signed and sent to a live connection's endpoint, becomes the promised record.

The expectations are the shipped default mappings' catalog: object type, external id, status and
metric values (with their units) for each fixture in ../shared/realworld.
"""
from decimal import Decimal

import pytest

from tests.providers import realworld
from zarts.extensions import db
from zarts.models import MetricValue
from zarts.providers import definition
from zarts.services.mapping import rules
from zarts.services.mapping.versions import effective_mapping

PAYMENT = "ch_000000000000000000000000"
INVOICE, SUBSCRIPTION = "in_000000000000000000000000", "sub_000000000000000000000000"
ORDER = "820982911946154500"
HELLO = "Codertocat/Hello-World"


def paid(revenue, payments, failed):
    return {"revenue": (revenue, "USD"), "payments": (payments, "count"), "failed_payments": (failed, "count")}


def counts(**values):
    return {name: (value, "count") for name, value in values.items()}


CANCELLED_ORDER = ("order", ORDER, "cancelled",
                   {"orders": ("1", "count"), "revenue": ("0", "USD"), "orders_cancelled": ("1", "count")})
OPENED_PR = ("delivery", f"{HELLO}#2", "in_progress", counts(deliveries="0"))
PUSHED = ("delivery", f"{HELLO}@6113728f27ae82c7b1a177c8d03f9e96e0adf246", "delivered", counts(deliveries="1"))
CONTACT = ("record", "1f81eb52-5198-4599-803e-771906343485", None, {})

# fixture -> (object type, external id, status, {metric: (value, unit)}), or "ignored: <reason>"
EXPECTED = {
    "stripe/charge.failed": ("payment", PAYMENT, "failed", paid("0", "0", "1")),
    "stripe/charge.refunded": ("refund", PAYMENT, "refunded", {"refunds": ("1", "USD")}),
    "stripe/charge.succeeded": ("payment", PAYMENT, "paid", paid("20", "1", "0")),
    "stripe/checkout.session.completed": (
        "order", "cs_test_" + "0" * 58, "paid", {"checkouts": ("1", "count"), "checkout_amount": ("30", "USD")}),
    "stripe/customer.subscription.created": (
        "subscription", SUBSCRIPTION, "active", counts(active_subscriptions="1", past_due_subscriptions="0")),
    "stripe/customer.subscription.deleted": (
        "subscription", SUBSCRIPTION, "canceled", counts(active_subscriptions="0", past_due_subscriptions="0")),
    "stripe/customer.subscription.updated": (
        "subscription", SUBSCRIPTION, "active", counts(active_subscriptions="1", past_due_subscriptions="0")),
    "stripe/invoice.created": ("invoice", INVOICE, "draft", counts(invoices_paid="0", invoices_failed="0")),
    "stripe/invoice.paid": ("invoice", INVOICE, "paid", counts(invoices_paid="1", invoices_failed="0")),
    "stripe/invoice.payment_failed": ("invoice", INVOICE, "failed", counts(invoices_paid="0", invoices_failed="1")),
    "stripe/invoice.payment_succeeded": ("invoice", INVOICE, "paid", counts(invoices_paid="1", invoices_failed="0")),
    # keyed by its charge: the same payment as charge.succeeded, its money counted once
    "stripe/payment_intent.succeeded": ("payment", PAYMENT, "paid", paid("20", "1", "0")),
    "shopify/docs__app_uninstalled": ("record", "548380009", "uninstalled", {}),
    "shopify/docs__customers_create": ("customer", "706405506930370000", "guest", counts(new_customers="1")),
    "shopify/docs__orders_cancelled": CANCELLED_ORDER,
    "shopify/docs__orders_create": CANCELLED_ORDER,  # Shopify's documented example is a cancelled order
    "shopify/docs__orders_paid": CANCELLED_ORDER,
    "shopify/docs__orders_updated": CANCELLED_ORDER,
    "shopify/docs__refunds_create": ("refund", "890088186047892400", "refunded", {"refunds": ("85", "USD")}),
    "shopify/pyapi__customers_create": ("customer", "207119551", "guest", counts(new_customers="1")),
    "shopify/pyapi__orders_create": (
        "order", "450789469", "pending",
        {"orders": ("1", "count"), "revenue": ("0", "USD"), "orders_cancelled": ("0", "count")}),
    "shopify/pyapi__refunds_create": ("refund", "509562969", "refunded", {"refunds": ("209", "USD")}),
    "github/check_run__completed": ("record", f"{HELLO}/check-runs/128620228", "succeeded", {}),
    "github/dependabot_alert__created": "ignored: no mapping for event type 'dependabot_alert'",
    "github/issue_comment__created": ("issue", f"{HELLO}#1", "open", counts(issues_opened="1")),
    "github/issues__opened": ("issue", f"{HELLO}#1", "open", counts(issues_opened="1")),
    "github/ping__payload": "ignored: event type 'ping' is ignored by the mapping",
    "github/pull_request__closed": ("delivery", f"{HELLO}#2", "cancelled", counts(deliveries="0")),
    "github/pull_request__opened": OPENED_PR,
    "github/pull_request__opened.with-null-body": OPENED_PR,
    "github/pull_request__synchronize": OPENED_PR,
    "github/push__payload": ("delivery", f"{HELLO}:refs/tags/simple-tag", "deleted", counts(deliveries="0")),
    "github/push__with-new-branch": PUSHED,
    "github/push__with-no-username-committer": PUSHED,
    "github/release__deleted": ("delivery", f"{HELLO}@0.0.1", "cancelled", counts(deliveries="0")),
    "github/release__prereleased": ("delivery", f"{HELLO}@0.0.1", "in_progress", counts(deliveries="0")),
    "github/release__published": ("delivery", f"{HELLO}@0.0.1", "delivered", counts(deliveries="1")),
    "github/workflow_run__completed": ("record", "octo-org/octo-repo/actions/runs/289782451", "succeeded", {}),
    "standard_webhooks/libtest__default_payload": "ignored: no mapping for event type ''",  # it has no type
    "standard_webhooks/spec__contact_created_full": CONTACT,
    "standard_webhooks/spec__contact_created_thin": CONTACT,
    "standard_webhooks/spec__example_event": ("record", "example.event@2022-11-03T20:26:10.344522Z", None, {}),
}

# What a new user found ending `ignored` (issue #13), and what was mapped before: all are records now.
CATALOG = {
    "stripe": ["charge.succeeded", "charge.failed", "charge.refunded", "payment_intent.succeeded",
               "checkout.session.completed", "invoice.created", "invoice.payment_failed",
               "invoice.payment_succeeded", "invoice.paid", "customer.subscription.created",
               "customer.subscription.updated", "customer.subscription.deleted"],
    "shopify": ["orders/create", "orders/updated", "orders/paid", "orders/cancelled", "refunds/create",
                "customers/create", "app/uninstalled"],
    "github": ["push", "pull_request", "release", "issues", "issue_comment", "workflow_run", "check_run"],
    "standard_webhooks": ["contact.created", "example.event"],
}


@pytest.fixture(autouse=True)
def realworld_present():
    if not realworld.REALWORLD.is_dir():
        pytest.skip(realworld.ABSENT)


def test_every_real_payload_has_an_expectation():
    assert realworld.names() == sorted(EXPECTED)


@pytest.mark.parametrize("provider_key", sorted(CATALOG))
def test_every_event_type_of_the_catalog_has_a_rule_and_a_real_payload(provider_key):
    shipped = definition(provider_key)["mapping"]
    unmapped = [t for t in CATALOG[provider_key] if rules.is_ignored(shipped, t) or not rules.rule_for(shipped, t)]
    assert unmapped == []
    sent = {realworld.load(name)[0]["event_type"] for name, expected in EXPECTED.items()
            if name.startswith(f"{provider_key}/") and not isinstance(expected, str)}
    assert set(CATALOG[provider_key]) <= sent


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_real_payload_becomes_the_promised_record(app, client, name):
    provider_key = name.split("/")[0]
    connection, secret = realworld.live_connection(provider_key)
    event = realworld.send(client, connection, secret, name)
    expected = EXPECTED[name]
    if isinstance(expected, str):
        assert (event.status, f"ignored: {event.status_reason}") == ("ignored", expected)
        return
    object_type, external_id, status, metrics = expected
    assert event.status == "normalized", event.status_reason
    record = event.normalized_event
    assert (record.object_type, record.external_id, record.status) == (object_type, external_id, status)
    assert event.outcome == "created"
    # The mapping states the metrics; a live event stores them (test-mode data never counts).
    event_type = realworld.load(name)[0]["event_type"]
    mapped = rules.apply(rules.rule_for(effective_mapping(connection), event_type),
                         realworld.payload(name)).metrics
    assert {p.name: (p.value.normalize(), p.unit) for p in mapped} == as_decimals(metrics)
    if getattr(event, "mode", "live") == "live":
        stored = db.session.scalars(db.select(MetricValue).filter_by(normalized_event_id=record.id)).all()
        assert {m.name: (m.value.normalize(), m.unit) for m in stored} == as_decimals(metrics)


def as_decimals(metrics):
    return {name: (Decimal(value).normalize(), unit) for name, (value, unit) in metrics.items()}
