"""The mapping language's default rule ("*") and a metric's currency from the payload."""
import pytest

from tests.providers import realworld
from zarts.providers import definition
from zarts.services.mapping.rules import OBJECT_TYPES, apply, is_ignored, preview, rule_for, validate

RULE = {"object_type": "record", "external_id": "id"}
MAPPING = {"version": 1, "events": {"a.created": {**RULE, "object_type": "lead"}, "*": RULE},
           "event_types_ignored": ["ping"]}


def test_the_default_rule_maps_every_typed_event_without_a_rule_of_its_own():
    assert rule_for(MAPPING, "a.created")["object_type"] == "lead"
    assert rule_for(MAPPING, "b.deleted") is RULE
    assert rule_for(MAPPING, "") is None and rule_for(MAPPING, "  ") is None and rule_for(MAPPING, None) is None
    assert is_ignored(MAPPING, "ping")  # the pipeline asks first: a listed type stays ignored
    assert preview(MAPPING, "ping", {"id": 1}) == {"ok": True, "ignored": "event type 'ping' is ignored by the mapping"}
    assert preview(MAPPING, "b.deleted", {"id": 1})["record"]["external_id"] == "1"
    assert rule_for({"events": {"a": RULE}}, "b") is None  # no default: unmapped types stay ignored


def test_the_default_rule_is_validated_like_any_rule_and_is_no_event_type():
    assert validate({"events": {"*": {"object_type": "thing"}}}) == [
        "events.*.object_type: required, one of " + ", ".join(OBJECT_TYPES), "events.*.external_id: required"]
    assert validate({"events": {"*": RULE}, "event_types_ignored": ["*"]}) == [
        "event_types_ignored[0]: '*' names the default rule, not an event type"]


def metric(**changes):
    return {"name": "revenue", "value": "amount", "unit": "USD", "period": "month", **changes}


@pytest.mark.parametrize("currency, unit", [
    ("eur", "EUR"), ("GBP", "GBP"), (None, "USD"), ("", "USD"), ("euro", "USD"), (978, "USD"), (["eur"], "USD"),
])
def test_a_metric_takes_its_currency_from_the_payload(currency, unit):
    rule = {**RULE, "metrics": [metric(currency="currency")]}
    [point] = apply(rule, {"id": 1, "amount": "12.50", "currency": currency}).metrics
    assert (str(point.value), point.unit) == ("12.5000", unit)


def test_a_metric_currency_must_be_an_expression():
    assert validate({"events": {"e": {**RULE, "metrics": [metric(currency="a[")]}}})[0].startswith(
        "events.e.metrics[0].currency: invalid JMESPath")
    assert validate({"events": {"e": {**RULE, "metrics": [metric(currency=3)]}}}) == [
        "events.e.metrics[0].currency: must be a JMESPath expression (a non-empty string)"]


# --- Standard Webhooks: any typed event from an unknown sender is a record of its type ------------

def generic(payload):
    shipped = definition("standard_webhooks")["mapping"]
    return preview(shipped, payload["type"], payload)["record"]


@pytest.mark.parametrize("payload, external_id, status", [
    ({"type": "invoice.paid", "timestamp": "2026-11-01T14:03:21Z", "data": {"id": "inv_1", "status": "Paid"}},
     "inv_1", "paid"),
    ({"type": "contact.deleted", "timestamp": "2026-11-01T14:03:21Z", "data": {"id": 42, "status": "active"}},
     "42", "deleted"),
    ({"id": "evt_9", "type": "ping.sent", "timestamp": "2026-11-01T14:03:21Z", "data": {"status": {"x": 1}}},
     "evt_9", None),
    ({"type": "account.updated"}, "account.updated@", None),
])
def test_the_generic_standard_webhooks_rule(payload, external_id, status):
    record = generic(payload)
    assert (record["object_type"], record["external_id"], record["status"]) == ("record", external_id, status)
    assert record["fields"]["event_type"] == payload["type"]


def test_the_spec_contact_created_becomes_a_contact_record():
    record = generic(realworld.payload("standard_webhooks/spec__contact_created_full"))
    assert record["external_id"] == "1f81eb52-5198-4599-803e-771906343485"
    assert record["fields"] == {"event_type": "contact.created", "object": "contact",
                                "timestamp": "2022-11-03T20:26:10.344522Z"}
    assert record["occurred_at"] == "2022-11-03T20:26:10.344522+00:00"
