"""Mapping suggestions from sample payloads: the real Stripe, Shopify and GitHub bodies, and small hand-made ones."""
import re
from decimal import Decimal

import jmespath
import pytest

from tests.providers import realworld
from zarts.services.mapping import rules
from zarts.services.mapping.suggest import PathStats, Suggestion, as_rule, paths, suggest

CHARGES = ["stripe/charge.succeeded", "stripe/charge.failed", "stripe/charge.refunded"]
INVOICES = ["stripe/invoice.paid", "stripe/invoice.payment_failed", "stripe/invoice.created"]
ORDERS = ["shopify/docs__orders_create", "shopify/docs__orders_paid", "shopify/pyapi__orders_create"]
PULLS = ["github/pull_request__opened", "github/pull_request__closed", "github/pull_request__synchronize",
         "github/pull_request__opened.with-null-body"]
STRIPE = {"status": "data.object.status", "external_id": "data.object.id"}
EXPECTED = {  # what a careful engineer would write for each group, and the group's main money metric
    "charges": (CHARGES, {**STRIPE, "object_type": "payment", "occurred_at": "data.object.created"},
                ("amount", "data.object.amount", 0.01, "data.object.currency")),
    "invoices": (INVOICES, {**STRIPE, "object_type": "invoice", "occurred_at": "data.object.created"},
                 ("amount_paid", "data.object.amount_paid", 0.01, "data.object.currency")),
    "orders": (ORDERS, {"external_id": "id", "status": "financial_status", "object_type": "order",
                        "occurred_at": "updated_at", "version": "updated_at"},
               ("total_price", "total_price", 1, "currency")),
    "pulls": (PULLS, {"external_id": "pull_request.id", "status": "pull_request.state", "object_type": "delivery",
                      "occurred_at": "pull_request.updated_at", "version": "pull_request.updated_at"}, None),
}
SENSITIVE_WORD = re.compile(r"password|token|secret|card|cvc|iban|ssn", re.IGNORECASE)


def event_type(name):
    """The fixture's event type, from its sidecar."""
    return realworld.load(name)[0]["event_type"]


def by_target(suggestions):
    found = {suggestion.target: suggestion for suggestion in suggestions}
    assert len(found) == len(suggestions), "each target is suggested once"
    return found


def check(suggestions, expected, money):
    """The expected expressions, each with a reason, and the money metric (or none)."""
    found = by_target(suggestions)
    assert {target: found[target].expression for target in expected} == expected
    assert all(suggestion.why.strip() for suggestion in suggestions)
    metrics = {t: s for t, s in found.items() if t.startswith("metric:")}
    if money is None:
        assert metrics == {}
        return
    name, value, scale, currency = money
    metric = found[f"metric:{name}"]
    assert metric.expression == value
    assert metric.extra == {"unit": "USD", "currency": currency, "scale": scale, "period": "month"}
    assert len(metrics) <= 3 and list(metrics)[0] == f"metric:{name}"  # the main amount comes first


@pytest.mark.parametrize("group, name", [(group, name) for group, (names, _, _) in EXPECTED.items() for name in names])
def test_one_real_payload_gives_the_expected_id_status_time_and_amount(group, name):
    _, expected, money = EXPECTED[group]
    check(suggest(event_type(name), [realworld.payload(name)]), expected, money)


@pytest.mark.parametrize("group", EXPECTED)
def test_many_real_payloads_give_a_rule_that_validates_and_maps_every_sample(group):
    names, expected, money = EXPECTED[group]
    samples = [realworld.payload(name) for name in names]
    suggestions = suggest(event_type(names[0]), samples)
    check(suggestions, expected, money)
    rule = as_rule(suggestions)
    assert rules.validate({"version": 1, "events": {event_type(names[0]): rule}}) == []
    assert 1 <= len(rule.get("fields", {})) <= 8
    for sample in samples:
        record = rules.apply(rule, sample)
        assert record.external_id == str(jmespath.search(expected["external_id"], sample))
        assert record.provider_status == jmespath.search(expected["status"], sample)
        assert record.occurred_at is not None
        if money:
            point = next(point for point in record.metrics if point.name == money[0])
            raw = Decimal(str(jmespath.search(money[1], sample)))
            assert point.value == raw * Decimal(str(money[2])) and point.unit == "USD"


def test_stripe_uses_the_object_id_not_the_event_id_and_says_why():
    found = by_target(suggest("charge.succeeded", [realworld.payload("stripe/charge.succeeded")]))
    assert "evt_" in found["external_id"].why and "envelope" in found["external_id"].why
    assert "minor units" in found["metric:amount"].why
    assert "'charge'" in found["object_type"].why


def test_github_prefers_the_global_pull_request_id_over_its_number():
    found = by_target(suggest("pull_request", [realworld.payload(name) for name in PULLS]))
    assert "pull_request.number" in found["external_id"].why and "4 of 4" in found["external_id"].why
    assert found["status"].why.endswith("closed, open")


def test_a_sensitive_key_is_never_suggested():
    sample = {"id": "evt_1", "created": 1648320032, "name": "Acme", "password": "hunter2", "api_token": "t",
              "card": {"id": "card_1", "number": "4242424242424242", "name": "Jo", "status": "valid"},
              "secret": {"status": "on", "email": "x@example.com"}, "status": "active", "clientSecret": "cs"}
    found = by_target(suggest("card.updated", [sample, {**sample, "id": "evt_2"}]))
    assert found["external_id"].expression == "id" and found["status"].expression == "status"
    assert found["field:name"].expression == "name" and "field:email" not in found
    real = [realworld.payload(name) for name in ORDERS + CHARGES]  # Shopify's token, Stripe's card details
    for suggestions in (found.values(), suggest("orders/create", real[:3]), suggest("charge.failed", real[3:])):
        for suggestion in suggestions:
            assert not SENSITIVE_WORD.search(suggestion.target + " " + suggestion.expression), suggestion


def test_paths_counts_presence_types_and_examples_across_samples():
    samples = [{"id": 1, "a": {"b": None, "c-d": "x" * 100}, "items": [{"p": 1}, {"p": 2}], "flag": True},
               {"id": "2", "a": {"b": 3}, "items": [], "flag": 1},
               {"id": None, "flag": 1},
               "not an object"]
    found = {stats.path: stats for stats in paths(samples)}
    assert list(found) == sorted(found) == ['a', 'a."c-d"', "a.b", "flag", "id", "items", "items[0]", "items[0].p"]
    assert found["id"] == PathStats("id", ("integer", "null", "string"), 2, 3, (1, "2"))
    assert found["a.b"] == PathStats("a.b", ("integer", "null"), 1, 3, (3,))
    assert found['a."c-d"'].examples == ("x" * 80,) and found['a."c-d"'].present == 1
    assert jmespath.search('a."c-d"', samples[0]) == "x" * 100  # the quoted key is valid JMESPath
    assert found["items"] == PathStats("items", ("array",), 2, 3, ())  # an empty list is present
    assert found["items[0].p"] == PathStats("items[0].p", ("integer",), 1, 3, (1,))  # the first element only
    assert found["flag"].examples == (True, 1) and found["flag"].present == 3  # True and 1 are distinct
    assert found["a"].types == ("object",) and found["a"].present == 2


def test_paths_are_bounded_by_depth_and_count():
    sample = {"a": {"b": {"c": 1}}, "z": 2}
    assert [s.path for s in paths([sample], max_depth=2)] == ["a", "a.b", "z"]
    assert [s.path for s in paths([sample], max_paths=2)] == ["a", "a.b"]
    assert [s.path for s in paths([{f"k{i}": i for i in range(50)}], max_paths=10)] == sorted(
        f"k{i}" for i in range(10))


def test_no_samples_and_no_id_give_no_rule():
    assert suggest("anything", []) == [] and suggest("anything", ["text", 3]) == []
    suggestions = suggest("push", [{"ref": "refs/heads/main", "after": "9f2c"}])
    assert "external_id" not in by_target(suggestions)
    with pytest.raises(ValueError, match="external_id"):
        as_rule(suggestions)
    rule = as_rule([Suggestion("external_id", "id", "given"), Suggestion("field:name", "name", "given")])
    assert rule == {"object_type": "record", "external_id": "id", "fields": {"name": "name"}}


def test_paths_keep_no_example_of_a_sensitive_value():
    found = {s.path: s for s in paths([{"password": "hunter2", "card": {"last4": "4242"}, "apiToken": "t", "n": 1}])}
    assert [found[p].examples for p in ("password", "card.last4", "apiToken", "n")] == [(), (), (), (1,)]
    assert found["card.last4"].present == 1  # the path is still listed: only its values are kept back
