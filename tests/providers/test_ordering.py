"""Ordering on real data: an older or equal-version state never undoes a terminal one, arrival
order never decides a tie, a redelivery changes nothing, and each deleted ref is its own record."""
import json
from datetime import UTC, datetime

import pytest

from tests.providers import realworld
from zarts.extensions import db
from zarts.models import MetricValue, NormalizedEvent
from zarts.services.mapping.rules import MappedRecord
from zarts.services.pipeline import ordering

T1 = datetime(2026, 11, 1, 12, tzinfo=UTC)
T2 = datetime(2026, 11, 1, 13, tzinfo=UTC)


def state(status, version="5", occurred_at=T1):
    return MappedRecord("order", "1", occurred_at, version, status, status, {}, ())


# --- the rule ----------------------------------------------------------------------------------

@pytest.mark.parametrize("new, stored, expected", [
    ("pending", "cancelled", -1), ("paid", "refunded", -1), ("open", "deleted", -1), ("active", "canceled", -1),
    ("delivered", "uninstalled", -1), ("failed", "void", -1),  # a terminal status stays
    ("cancelled", "pending", 1), ("deleted", "delivered", 1), ("void", "paid", 1),  # and wins a tie
    ("paid", "draft", 1), ("delivered", "in_progress", 1), ("failed", "open", 1),  # a result beats a step
    ("draft", "paid", -1), ("in_progress", "delivered", -1),
    ("pending", "active", 0), ("paid", "failed", 0), ("cancelled", "deleted", 0), (None, None, 0),
])
def test_at_an_equal_version_the_status_decides(new, stored, expected):
    assert ordering.compare_versions(state(new), T2, "5", stored) == expected
    assert ordering.compare_versions(state(new, "6"), T2, "5", stored) == 1  # a newer version always wins
    assert ordering.compare_versions(state(new, "4"), T2, "5", stored) == -1


@pytest.mark.parametrize("new_at, stored_at", [(None, T1), (T1, None), (None, None), (T1, T1)])
def test_without_an_order_the_later_arrival_wins_except_over_a_terminal_status(new_at, stored_at):
    assert ordering.compare_versions(state("pending", None, new_at), stored_at, None, "cancelled") == -1
    assert ordering.compare_versions(state("cancelled", None, new_at), stored_at, None, "deleted") == 1
    assert ordering.compare_versions(state("pending", None, new_at), stored_at, None, "paid") == 1
    assert ordering.compare_versions(state("cancelled", None, T2), T1, None, "cancelled") == 1


@pytest.mark.parametrize("order, same, expected", [
    (1, False, "updated"), (1, True, "unchanged"), (0, True, "unchanged"), (0, False, "stale"),
    (-1, True, "stale"), (-1, False, "stale"),
])
def test_the_outcome_of_an_upsert(order, same, expected):
    new = state("pending", {1: "6", 0: "5", -1: "4"}[order])
    assert ordering.outcome(new, T1, "5", "pending", same) == expected


# --- on real payloads --------------------------------------------------------------------------

def records(connection):
    return db.session.scalars(db.select(NormalizedEvent).filter_by(connection_id=connection.id)
                              .order_by(NormalizedEvent.id)).all()


def live_mode(name):
    """A Stripe fixture as the same event sent in live mode."""
    return {**realworld.payload(name), "livemode": True}


def metric(record, name):
    return db.session.scalar(db.select(MetricValue.value).filter_by(normalized_event_id=record.id, name=name))


def test_shopify_orders_create_after_orders_cancelled_at_the_same_updated_at_changes_nothing(app, client):
    connection, secret = realworld.live_connection("shopify")
    cancelled = realworld.send(client, connection, secret, "shopify/docs__orders_cancelled")
    created = realworld.payload("shopify/docs__orders_create")
    created.update(cancelled_at=None, cancel_reason=None, financial_status="pending")  # the order as placed
    assert created["updated_at"] == realworld.payload("shopify/docs__orders_cancelled")["updated_at"]
    late = realworld.send(client, connection, secret, "shopify/docs__orders_create",
                          json.dumps(created, separators=(",", ":")).encode())
    [record] = records(connection)
    assert (cancelled.outcome, late.outcome, late.status) == ("created", "stale", "normalized")
    assert (record.status, record.fields["cancel_reason"], record.action) == ("cancelled", "customer", "created")
    assert metric(record, "orders_cancelled") == 1
    again = realworld.send(client, connection, secret, "shopify/docs__orders_updated")  # the same state again
    assert again.outcome == "unchanged" and records(connection)[0].status == "cancelled"


def test_github_release_published_after_deleted_at_the_same_published_at_stays_deleted(app, client):
    connection, secret = realworld.live_connection("github")
    deleted = realworld.send(client, connection, secret, "github/release__deleted")
    published = realworld.send(client, connection, secret, "github/release__published")
    [record] = records(connection)
    assert (deleted.outcome, published.outcome) == ("created", "stale")
    assert record.status == "cancelled" and metric(record, "deliveries") == 0
    redelivered = realworld.send(client, connection, secret, "github/release__deleted")
    assert redelivered.outcome == "unchanged" and records(connection)[0].action == "created"


def test_a_release_published_then_deleted_in_the_same_second_ends_deleted(app, client):
    connection, secret = realworld.live_connection("github")
    realworld.send(client, connection, secret, "github/release__published")
    deleted = realworld.send(client, connection, secret, "github/release__deleted")
    [record] = records(connection)
    assert deleted.outcome == "updated" and record.status == "cancelled" and metric(record, "deliveries") == 0


def test_a_stripe_invoice_paid_is_not_undone_by_its_draft_from_the_same_second(app, client):
    connection, secret = realworld.live_connection("stripe")
    # The fixtures were recorded in Stripe's test mode (livemode: false, test data in zarts): as live.
    paid = realworld.send(client, connection, secret, "stripe/invoice.paid", live_mode("stripe/invoice.paid"))
    draft = live_mode("stripe/invoice.created")
    draft["created"] = realworld.payload("stripe/invoice.paid")["created"]
    late = realworld.send(client, connection, secret, "stripe/invoice.created", draft)
    [record] = records(connection)
    assert (paid.outcome, late.outcome) == ("created", "stale")
    assert record.status == "paid" and metric(record, "invoices_paid") == 1


def test_a_canceled_subscription_is_not_revived_by_an_update_from_the_same_second(app, client):
    connection, secret = realworld.live_connection("stripe")
    realworld.send(client, connection, secret, "stripe/customer.subscription.deleted",
                   live_mode("stripe/customer.subscription.deleted"))
    update = live_mode("stripe/customer.subscription.updated")
    update["created"] = realworld.payload("stripe/customer.subscription.deleted")["created"]
    late = realworld.send(client, connection, secret, "stripe/customer.subscription.updated", update)
    [record] = records(connection)
    assert late.outcome == "stale" and record.status == "canceled" and metric(record, "active_subscriptions") == 0


def test_two_branch_deletions_in_one_repository_are_two_records(app, client):
    connection, secret = realworld.live_connection("github")
    realworld.send(client, connection, secret, "github/push__payload")  # deletes refs/tags/simple-tag
    branch = realworld.payload("github/push__payload")
    branch["ref"] = "refs/heads/feature"
    realworld.send(client, connection, secret, "github/push__payload", branch)
    deletions = records(connection)
    assert [(r.external_id, r.status) for r in deletions] == [
        ("Codertocat/Hello-World:refs/tags/simple-tag", "deleted"),
        ("Codertocat/Hello-World:refs/heads/feature", "deleted"),
    ]
    assert [metric(r, "deliveries") for r in deletions] == [0, 0]
