"""Mappings: validation, applying rules to payloads, version ordering, preview, shipped mappings."""
import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import any_text
from zarts.providers import definitions
from zarts.services.mapping import rules
from zarts.services.mapping.rules import (
    OBJECT_TYPES,
    MappedRecord,
    MappingError,
    MetricPoint,
    apply,
    check,
    is_ignored,
    preview,
    rule_for,
    validate,
)
from zarts.services.pipeline.ordering import compare_versions

RULE = {"object_type": "payment", "external_id": "id"}


def with_rule(**changes):
    """A one-rule mapping for event type "e" whose rule is RULE plus changes."""
    return {"version": 1, "events": {"e": {**RULE, **changes}}}


def metric(**changes):
    return {"name": "revenue", "value": "amount", "unit": "USD", "period": "month", **changes}


def one_problem(mapping_):
    problems = validate(mapping_)
    assert len(problems) == 1, problems
    return problems[0]


SHIPPED = [(key, event_type) for key, d in sorted(definitions().items()) for event_type in d["samples"]]
SHIPPED_RULES = [(key, event_type) for key, d in sorted(definitions().items())
                 for event_type in d["mapping"]["events"]]


# --- validate / check ------------------------------------------------------------------------

def test_a_minimal_mapping_is_valid():
    assert validate(with_rule()) == []
    assert validate({"events": {}}) == []  # version may be left out
    good = with_rule()
    assert check(good) is good


@pytest.mark.parametrize("value", [None, [], "mapping", 3, True])
def test_a_non_object_mapping_is_an_error(value):
    assert validate(value) == ["mapping: must be an object"]
    with pytest.raises(MappingError, match="must be an object"):
        check(value)


@pytest.mark.parametrize("mapping_, expected", [
    ({"version": 1}, "events: required"),
    ({"version": 1, "events": []}, "events: required"),
    ({"version": 2, "events": {}}, "version: must be 1"),
    ({"version": True, "events": {}}, "version: must be 1"),
    ({"events": {}, "extra": 1}, "mapping: unknown key 'extra'"),
    ({"events": {}, "event_types_ignored": "ping"}, "event_types_ignored[0]: must be a non-empty string"),
    ({"events": {}, "event_types_ignored": ["ping", ""]}, "event_types_ignored[1]: must be a non-empty"),
    ({"events": {"e": RULE}, "event_types_ignored": ["e"]}, "event_types_ignored[0]: 'e' also has a rule"),
    ({"events": {"e": "payment"}}, "events.e: must be an object"),
])
def test_top_level_problems(mapping_, expected):
    assert one_problem(mapping_).startswith(expected)


@pytest.mark.parametrize("changes, expected", [
    ({"external_id": None}, "events.e.external_id: must be a JMESPath expression"),
    ({"external_id": ""}, "events.e.external_id: must be a JMESPath expression"),
    ({"external_id": "data.[id"}, "events.e.external_id: invalid JMESPath: "),
    ({"object_type": "widget"}, "events.e.object_type: required, one of payment, refund"),
    ({"object_type": None}, "events.e.object_type: required"),
    ({"occurred_at": "created)"}, "events.e.occurred_at: invalid JMESPath"),
    ({"version": 5}, "events.e.version: must be a JMESPath expression"),
    ({"status": "`unclosed"}, "events.e.status: invalid JMESPath"),
    ({"status": "x" * 1001}, "events.e.status: longer than 1000 characters"),
    ({"status_map": {"a": "b"}}, "events.e.status_map: needs a status expression"),
    ({"status": "s", "status_map": ["a"]}, "events.e.status_map: must map"),
    ({"status": "s", "status_map": {"a": 1}}, "events.e.status_map: must map"),
    ({"status": "s", "status_map": {"a": "x" * 65}}, "events.e.status_map: must map"),
    ({"fields": ["amount"]}, "events.e.fields: must be an object"),
    ({"fields": {"amount": "data.[amount"}}, "events.e.fields.amount: invalid JMESPath: "),
    ({"fields": {"amount": 3}}, "events.e.fields.amount: must be a JMESPath expression"),
    ({"foo": "bar"}, "events.e: unknown key 'foo'"),
    ({"metrics": {"name": "x"}}, "events.e.metrics: must be a list"),
    ({"metrics": ["revenue"]}, "events.e.metrics[0]: must be an object"),
])
def test_rule_problems(changes, expected):
    assert one_problem(with_rule(**changes)).startswith(expected)


def test_a_rule_without_external_id_or_object_type():
    problems = validate({"events": {"e": {}}})
    assert "events.e.external_id: required" in problems
    assert any(p.startswith("events.e.object_type: required") for p in problems)


@pytest.mark.parametrize("name", ["Amount", "1st", "a-b", "a b", "", "_x", "a" * 65, "amount\n"])
def test_bad_field_names(name):
    problem = one_problem(with_rule(fields={name: "amount"}))
    assert problem.startswith(f"events.e.fields.{name}: invalid field name")


@pytest.mark.parametrize("name", ["a", "amount_2", "a" * 64])
def test_good_field_names(name):
    assert validate(with_rule(fields={name: "amount"})) == []


@pytest.mark.parametrize("changes, expected", [
    ({"period": "year"}, ".period: must be one of day, week, month, quarter"),
    ({"period": None}, ".period: must be one of"),
    ({"unit": ""}, ".unit: required, 1-32 characters"),
    ({"unit": "  "}, ".unit: required"),
    ({"unit": "u" * 33}, ".unit: required"),
    ({"unit": 1}, ".unit: required"),
    ({"name": "Revenue"}, ".name: must match"),
    ({"name": "r" * 101}, ".name: must match"),
    ({"name": None}, ".name: must match"),
    ({"value": True}, ".value: must be a JMESPath string or a number"),
    ({"value": None}, ".value: must be a JMESPath string or a number"),
    ({"value": [1]}, ".value: must be a JMESPath string or a number"),
    ({"value": float("nan")}, ".value: must be a JMESPath string or a number"),
    ({"value": "amount["}, ".value: invalid JMESPath"),
    ({"scale": 0}, ".scale: must be a non-zero number"),
    ({"scale": "0.01"}, ".scale: must be a non-zero number"),
    ({"every": "day"}, ": unknown key 'every'"),
])
def test_metric_problems(changes, expected):
    assert one_problem(with_rule(metrics=[metric(**changes)])).startswith("events.e.metrics[0]" + expected)


def test_metric_values_may_be_literal_numbers_and_names_long():
    metrics = [metric(value=1), metric(name="r" * 100, value=-1.5, scale=0.01)]
    assert validate(with_rule(metrics=metrics)) == []


def test_a_metric_name_twice_in_one_rule_is_an_error():
    problem = one_problem(with_rule(metrics=[metric(), metric(value=1)]))
    assert problem == "events.e.metrics[1].name: 'revenue' appears twice in this rule"


def test_validate_reports_every_problem_with_its_path():
    bad = {"version": 1, "events": {
        "charge.succeeded": {"object_type": "nope", "external_id": "id", "fields": {"amount": "a[", "Bad": "b"},
                             "metrics": [metric(period="year", unit="")]},
        "other": {"object_type": "order"},
    }}
    problems = validate(bad)
    assert len(problems) == 6
    assert any(p.startswith("events.charge.succeeded.fields.amount: invalid JMESPath: ") for p in problems)
    assert "events.other.external_id: required" in problems
    with pytest.raises(MappingError) as info:
        check(bad)
    assert str(info.value) == "; ".join(problems)


def test_compiled_expressions_are_cached():
    rules._compiled.cache_clear()
    validate(with_rule(fields={"a": "data.a"}))
    validate(with_rule(fields={"a": "data.a"}))
    assert rules._compiled.cache_info().hits >= 2


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | any_text(8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from([*rules.RULE_KEYS, *rules.METRIC_KEYS, "events", "e"]),
                                      inner, max_size=6), max_leaves=30))
def test_validate_never_raises(value):
    problems = validate(value)
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)


# --- rule_for / is_ignored -------------------------------------------------------------------

def test_rule_for_and_is_ignored():
    mapping_ = {**with_rule(), "event_types_ignored": ["ping"]}
    assert rule_for(mapping_, "e") == {**RULE}
    assert rule_for(mapping_, "ping") is None and rule_for(mapping_, "other") is None
    assert is_ignored(mapping_, "ping") and not is_ignored(mapping_, "e")
    for broken in (None, [], {"events": []}, {"event_types_ignored": "ping"}):
        assert rule_for(broken, "e") is None and not is_ignored(broken, "ping")
    assert rule_for(mapping_, None) is None and not is_ignored(mapping_, ["ping"])


# --- apply: external id, times, statuses, fields, metrics --------------------------------------

def test_apply_maps_a_payload():
    rule = {**RULE, "occurred_at": "created", "version": "created", "status": "status",
            "status_map": {"succeeded": "paid"}, "fields": {"amount": "amount", "tags": "tags"},
            "metrics": [metric(scale=0.01), metric(name="payments", value=1, unit="count")]}
    record = apply(rule, {"id": "ch_1", "created": 1793541800, "status": "succeeded", "amount": 120000,
                          "tags": ["a", {"b": 1}]})
    assert record == MappedRecord(
        object_type="payment", external_id="ch_1", occurred_at=datetime(2026, 11, 1, 14, 3, 20, tzinfo=UTC),
        version="1793541800", provider_status="succeeded", status="paid",
        fields={"amount": 120000, "tags": ["a", {"b": 1}]},
        metrics=(MetricPoint("revenue", Decimal("1200.0000"), "USD", "month"),
                 MetricPoint("payments", Decimal("1.0000"), "count", "month")),
    )


@pytest.mark.parametrize("value, expected", [
    ("ch_1", "ch_1"), (42, "42"), (2 ** 70, str(2 ** 70)), ("x" * 255, "x" * 255), (" a ", " a "),
])
def test_external_id_values(value, expected):
    assert apply(RULE, {"id": value}).external_id == expected


@pytest.mark.parametrize("payload, message", [
    ({}, "external_id: missing"), ({"id": None}, "external_id: missing"),
    ({"id": ""}, "external_id: must be 1-255"), ({"id": "   "}, "external_id: must be 1-255"),
    ({"id": "x" * 256}, "external_id: must be 1-255"),
    ({"id": True}, "must be a string or an integer, got bool"), ({"id": 1.5}, "got float"),
    ({"id": [1]}, "got list"), ({"id": {"a": 1}}, "got dict"), ([1, 2], "external_id: missing"),
    ("text", "external_id: missing"), (None, "external_id: missing"),
])
def test_bad_external_ids_are_mapping_errors(payload, message):
    with pytest.raises(MappingError, match=message):
        apply(RULE, payload)


@pytest.mark.parametrize("value, expected", [
    (1793541800, datetime(2026, 11, 1, 14, 3, 20, tzinfo=UTC)),
    (1793541800.25, datetime(2026, 11, 1, 14, 3, 20, 250000, tzinfo=UTC)),
    (1793541800000, datetime(2026, 11, 1, 14, 3, 20, tzinfo=UTC)),  # milliseconds
    (1793541800123, datetime(2026, 11, 1, 14, 3, 20, 123000, tzinfo=UTC)),
    (0, datetime(1970, 1, 1, tzinfo=UTC)),
    ("2026-11-01T14:03:22Z", datetime(2026, 11, 1, 14, 3, 22, tzinfo=UTC)),
    ("2026-11-01T14:03:22.512Z", datetime(2026, 11, 1, 14, 3, 22, 512000, tzinfo=UTC)),
    ("2026-11-01T10:03:22-04:00", datetime(2026, 11, 1, 14, 3, 22, tzinfo=UTC)),
    ("2026-11-02T01:00:00+05:30", datetime(2026, 11, 1, 19, 30, tzinfo=UTC)),
    ("2026-11-01T14:03:22", datetime(2026, 11, 1, 14, 3, 22, tzinfo=UTC)),  # naive: UTC
    ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    (" 2026-11-01 ", datetime(2026, 11, 1, tzinfo=UTC)),
    (None, None), ("", None), ("  ", None),
])
def test_occurred_at_parsing(value, expected):
    occurred_at = apply({**RULE, "occurred_at": "t"}, {"id": 1, "t": value}).occurred_at
    assert occurred_at == expected
    assert occurred_at is None or occurred_at.tzinfo is UTC


def test_occurred_at_is_optional():
    assert apply(RULE, {"id": 1}).occurred_at is None
    assert apply({**RULE, "occurred_at": "missing"}, {"id": 1}).occurred_at is None


@pytest.mark.parametrize("value", [
    "yesterday", "2026-13-01", "2026-11-01T25:00:00Z", "1793541800", True, [1793541800], {"t": 1},
    -5, 1e20, 10 ** 400, float("nan"), float("inf"), "0001-01-01",
])
def test_garbage_occurred_at_is_a_mapping_error(value):
    with pytest.raises(MappingError, match="^occurred_at: "):
        apply({**RULE, "occurred_at": "t"}, {"id": 1, "t": value})


@pytest.mark.parametrize("value, provider_status, status", [
    ("succeeded", "succeeded", "paid"),
    ("Succeeded", "Succeeded", "paid"),        # no exact key: matched case-insensitively
    ("SUCCEEDED", "SUCCEEDED", "loud"),        # an exact key wins
    ("Refunded", "Refunded", "refunded"),      # not in the map: itself, lower-cased
    (2, "2", "two"), (True, "true", "true"), (None, None, None), ("", None, None),
])
def test_status_map(value, provider_status, status):
    rule = {**RULE, "status": "s", "status_map": {"succeeded": "paid", "SUCCEEDED": "loud", "2": "two"}}
    record = apply(rule, {"id": 1, "s": value})
    assert (record.provider_status, record.status) == (provider_status, status)


def test_no_status_expression_means_no_status():
    record = apply(RULE, {"id": 1, "status": "paid"})
    assert (record.provider_status, record.status) == (None, None)


@pytest.mark.parametrize("key", ["status", "version"])
@pytest.mark.parametrize("value, message", [(["a"], "got list"), ({"a": 1}, "got dict"),
                                            ("x" * 65, "longer than 64")])
def test_bad_statuses_and_versions(key, value, message):
    with pytest.raises(MappingError, match=f"^{key}: .*{message}"):
        apply({**RULE, key: "v"}, {"id": 1, "v": value})


@pytest.mark.parametrize("value, expected", [(7, "7"), (1.5, "1.5"), ("v7", "v7"), (None, None)])
def test_versions_become_text(value, expected):
    assert apply({**RULE, "version": "v"}, {"id": 1, "v": value}).version == expected


def test_field_values_keep_their_json_types():
    payload = {"id": 1, "s": "x", "i": 3, "f": 1.5, "b": False, "n": None, "l": [1, "a"], "d": {"k": [1]}}
    fields = {k: k for k in ("s", "i", "f", "b", "n", "l", "d")}
    assert apply({**RULE, "fields": {**fields, "missing": "nope.nope"}}, payload).fields == {
        "s": "x", "i": 3, "f": 1.5, "b": False, "n": None, "l": [1, "a"], "d": {"k": [1]}, "missing": None}


def test_long_text_fields_are_cut_and_big_objects_refused():
    fields = apply({**RULE, "fields": {"body": "body"}}, {"id": 1, "body": "y" * 5000}).fields
    assert len(fields["body"]) == 2000 and fields["body"].endswith("…")
    with pytest.raises(MappingError, match="^fields.items: .* map a smaller part"):
        apply({**RULE, "fields": {"items": "items"}}, {"id": 1, "items": ["z" * 100] * 200})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"when": datetime(2026, 1, 1)}, {1, 2}])
def test_fields_that_are_not_json_are_mapping_errors(value):
    with pytest.raises(MappingError, match="^fields.x: not JSON-serialisable"):
        apply({**RULE, "fields": {"x": "x"}}, {"id": 1, "x": value})


def test_runtime_jmespath_errors_are_mapping_errors():
    with pytest.raises(MappingError, match="^fields.count: In function length"):
        apply({**RULE, "fields": {"count": "length(commits)"}}, {"id": 1})


def test_apply_checks_the_rule_first():
    for rule in ({"object_type": "payment"}, {**RULE, "object_type": "widget"}, {**RULE, "foo": 1}, None):
        with pytest.raises(MappingError, match="^rule"):
            apply(rule, {"id": 1})


@pytest.mark.parametrize("value, scale, expected", [
    (120000, 0.01, "1200.0000"), (120050, 0.01, "1200.5000"), ("172.05", None, "172.0500"),
    (" 172.05 ", None, "172.0500"), (172.05, None, "172.0500"), (0.1, 3, "0.3000"),
    ("0.00005", None, "0.0001"), ("0.00004", None, "0.0000"), ("-0.00005", None, "-0.0001"),
    ("-0.00001", None, "0.0000"), (1, None, "1.0000"), (-1, None, "-1.0000"), (12345, 0.001, "12.3450"),
    ("1e3", None, "1000.0000"), (9999999999999999, None, "9999999999999999.0000"),
])
def test_metric_values_are_scaled_and_quantized(value, scale, expected):
    spec = metric(value="v", **({} if scale is None else {"scale": scale}))
    (point,) = apply({**RULE, "metrics": [spec]}, {"id": 1, "v": value}).metrics
    assert point == MetricPoint("revenue", Decimal(expected), "USD", "month")
    assert str(point.value) == expected  # exactly four places, never -0.0000


def test_literal_metric_values_are_scaled_too():
    (point,) = apply({**RULE, "metrics": [metric(value=250, scale=0.01)]}, {"id": 1}).metrics
    assert str(point.value) == "2.5000"


@pytest.mark.parametrize("value", [None, "", "  "])
def test_a_missing_metric_value_is_skipped(value):
    rule = {**RULE, "metrics": [metric(value="v"), metric(name="payments", value=1, unit="count")]}
    assert [p.name for p in apply(rule, {"id": 1, "v": value}).metrics] == ["payments"]
    assert [p.name for p in apply(rule, {"id": 1}).metrics] == ["payments"]


@pytest.mark.parametrize("value, message", [
    ("abc", "'abc' is not a number"), ("1,200.00", "is not a number"), (True, "got bool"),
    ([1], "got list"), ({"a": 1}, "got dict"), ("NaN", "not a finite number"), ("Infinity", "not a finite"),
    (float("inf"), "not a finite"), (10 ** 16, "not a finite number below 1e16"), ("-1e17", "below 1e16"),
])
def test_non_numeric_metric_values_are_mapping_errors(value, message):
    with pytest.raises(MappingError, match=f"^metrics.revenue: .*{message}"):
        apply({**RULE, "metrics": [metric(value="v")]}, {"id": 1, "v": value})


# --- compare_versions ------------------------------------------------------------------------

T1 = datetime(2026, 11, 1, 12, tzinfo=UTC)
T2 = datetime(2026, 11, 1, 13, tzinfo=UTC)


def record(version=None, occurred_at=None):
    return MappedRecord("order", "1", occurred_at, version, None, None, {}, ())


@pytest.mark.parametrize("new, current, expected", [
    ("10", "9", 1), ("9", "10", -1), ("10", "10", 0), ("10", "10.0", 0), ("1.5", "1.25", 1),
    ("1793541800", "1793541799", 1),
    ("b", "a", 1), ("a", "b", -1), ("v2", "v2", 0), ("10", "abc", -1),  # text when not both numeric
    ("2026-11-01T14:03:21Z", "2026-11-01T14:01:07.094Z", 1),
    ("2026-11-01T14:03:21Z", "2026-11-01T14:03:21+00:00", 0),
    # DST: 01:10-05:00 is after 01:30-04:00 although it sorts before it as text
    ("2026-11-01T01:10:00-05:00", "2026-11-01T01:30:00-04:00", 1),
    ("2026-11-01T01:30:00-04:00", "2026-11-01T01:10:00-05:00", -1),
    ("NaN", "1", 1), ("1", "NaN", -1),  # NaN is not a number to compare: text order
])
def test_versions_decide_when_both_sides_have_one(new, current, expected):
    assert compare_versions(record(new, T1), T2, current) == expected


@pytest.mark.parametrize("new_version, current_version", [(None, "5"), ("5", None), (None, None)])
def test_occurred_at_decides_without_two_versions(new_version, current_version):
    assert compare_versions(record(new_version, T2), T1, current_version) == 1
    assert compare_versions(record(new_version, T1), T2, current_version) == -1
    assert compare_versions(record(new_version, T1), T1, current_version) == 1  # same moment: order unknown


def test_naive_stored_times_count_as_utc():
    assert compare_versions(record(occurred_at=T1), T2.replace(tzinfo=None), None) == -1
    assert compare_versions(record(occurred_at=T2), T1.replace(tzinfo=None), None) == 1


@pytest.mark.parametrize("new_at, current_at", [(None, T2), (T1, None), (None, None)])
def test_unknown_order_counts_as_newer(new_at, current_at):
    assert compare_versions(record(None, new_at), current_at, None) == 1


# --- preview ---------------------------------------------------------------------------------

def test_preview_shows_a_json_safe_record():
    mapping_ = with_rule(occurred_at="t", fields={"a": "a"}, metrics=[metric(value="v", scale=0.01)])
    result = preview(mapping_, "e", {"id": 7, "t": 1793541800, "a": [1], "v": 12345})
    assert result == {"ok": True, "record": {
        "object_type": "payment", "external_id": "7", "occurred_at": "2026-11-01T14:03:20+00:00",
        "version": None, "provider_status": None, "status": None, "fields": {"a": [1]},
        "metrics": [{"name": "revenue", "value": "123.4500", "unit": "USD", "period": "month"}]}}
    json.dumps(result, allow_nan=False)


def test_preview_explains_ignored_events_and_errors():
    mapping_ = {**with_rule(), "event_types_ignored": ["ping"]}
    assert preview(mapping_, "ping", {}) == {"ok": True, "ignored": "event type 'ping' is ignored by the mapping"}
    assert preview(mapping_, "other", {}) == {"ok": True, "ignored": "no mapping for event type 'other'"}
    assert preview(mapping_, "e", {}) == {"ok": False, "error": "external_id: missing from the payload"}
    bad = preview(with_rule(object_type="widget"), "e", {"id": 1})
    assert bad["ok"] is False and bad["error"].startswith("invalid mapping: events.e.object_type")


@pytest.mark.parametrize("mapping_, event_type, payload", [
    (None, "e", {}), ("x", None, None), (with_rule(), None, None), (with_rule(), "e", "text"),
    (with_rule(), "e", [1, 2]), (with_rule(), ["e"], {"id": 1}), ({"events": {"e": None}}, "e", {}),
])
def test_preview_never_raises_on_odd_input(mapping_, event_type, payload):
    result = preview(mapping_, event_type, payload)
    assert result["ok"] in (True, False)


def test_preview_reports_unexpected_errors_without_raising(monkeypatch):
    def boom(rule, payload):
        raise KeyError("bug")

    monkeypatch.setattr(rules, "apply", boom)
    assert preview(with_rule(), "e", {"id": 1}) == {"ok": False, "error": "unexpected KeyError while mapping"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text(20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text(8), inner, max_size=4),
    max_leaves=25,
)


@pytest.mark.parametrize("provider_key, event_type", SHIPPED_RULES)
@settings(max_examples=40, deadline=None)
@given(payload=JSON, overrides=st.dictionaries(any_text(12), JSON, max_size=4), data=st.data())
def test_preview_never_raises_on_random_payloads(provider_key, event_type, payload, overrides, data):
    shipped = definitions()[provider_key]
    sample = copy.deepcopy(shipped["samples"].get(event_type, {}))
    # Replace some of the sample's own keys with random JSON, so the rule's paths hit odd types.
    keys = data.draw(st.lists(st.sampled_from(sorted(sample)), max_size=3)) if sample else []
    sample.update({key: data.draw(JSON) for key in keys}, **overrides)
    for candidate in (payload, sample):
        result = preview(shipped["mapping"], event_type, candidate)
        assert isinstance(result, dict) and result["ok"] in (True, False)
        assert set(result) in ({"ok", "record"}, {"ok", "error"}, {"ok", "ignored"})
        json.dumps(result, allow_nan=False)


# --- shipped provider mappings -----------------------------------------------------------------

@pytest.mark.parametrize("provider_key", sorted(definitions()))
def test_shipped_mappings_are_valid_and_match_their_samples(provider_key):
    """Every sample has its rule; rules without a sample are tested on real payloads (tests/providers)."""
    shipped = definitions()[provider_key]
    assert validate(shipped["mapping"]) == []
    assert set(shipped["samples"]) <= set(shipped["mapping"]["events"])


@pytest.mark.parametrize("provider_key, event_type", SHIPPED)
def test_every_shipped_sample_maps_to_a_record(provider_key, event_type):
    shipped = definitions()[provider_key]
    rule = rule_for(shipped["mapping"], event_type)
    record = apply(rule, shipped["samples"][event_type])
    assert record.external_id and record.object_type in OBJECT_TYPES
    assert record.occurred_at is not None and record.occurred_at.tzinfo is UTC
    assert record.metrics and all(p.value.as_tuple().exponent == -4 for p in record.metrics)
    assert preview(shipped["mapping"], event_type, shipped["samples"][event_type])["ok"] is True


@pytest.mark.parametrize("provider_key", sorted(definitions()))
def test_rules_for_one_object_type_state_the_same_metrics(provider_key):
    """The newest event replaces a record's metric values, so every rule must state all of them."""
    names = {}
    for event_type, rule in definitions()[provider_key]["mapping"]["events"].items():
        names.setdefault(rule["object_type"], {})[event_type] = sorted(m["name"] for m in rule.get("metrics", []))
    for object_type, by_event in names.items():
        assert len({tuple(v) for v in by_event.values()}) == 1, (object_type, by_event)


def shipped_metrics(provider_key, event_type, change=None):
    """{name: value} from mapping a shipped sample, after change(payload) if given."""
    shipped = definitions()[provider_key]
    payload = copy.deepcopy(shipped["samples"][event_type])
    if change:
        change(payload)
    return {p.name: str(p.value) for p in apply(rule_for(shipped["mapping"], event_type), payload).metrics}


def test_stripe_subscription_metrics_state_the_current_count():
    assert shipped_metrics("stripe", "customer.subscription.created") == {
        "active_subscriptions": "1.0000", "past_due_subscriptions": "0.0000"}
    assert shipped_metrics("stripe", "customer.subscription.deleted") == {
        "active_subscriptions": "0.0000", "past_due_subscriptions": "0.0000"}
    incomplete = shipped_metrics("stripe", "customer.subscription.created",
                                 lambda p: p["data"]["object"].update(status="incomplete"))
    assert incomplete == {"active_subscriptions": "0.0000", "past_due_subscriptions": "0.0000"}


def test_stripe_refunds_state_the_cumulative_amount_per_charge():
    assert shipped_metrics("stripe", "charge.refunded") == {"refunds": "300.0000"}
    more = shipped_metrics("stripe", "charge.refunded", lambda p: p["data"]["object"].update(amount_refunded=50000))
    assert more == {"refunds": "500.0000"}


def test_shopify_order_events_state_every_order_metric():
    assert shipped_metrics("shopify", "orders/create") == {
        "orders": "1.0000", "revenue": "0.0000", "orders_cancelled": "0.0000"}
    assert shipped_metrics("shopify", "orders/paid") == {
        "orders": "1.0000", "revenue": "172.0500", "orders_cancelled": "0.0000"}
    assert shipped_metrics("shopify", "orders/cancelled") == {
        "orders": "1.0000", "revenue": "172.0500", "orders_cancelled": "1.0000"}  # refund counted apart
    voided = shipped_metrics("shopify", "orders/cancelled", lambda p: p.update(financial_status="voided"))
    assert voided["revenue"] == "0.0000"


def test_shopify_order_events_keep_the_order_date():
    shipped = definitions()["shopify"]
    times = {apply(rule_for(shipped["mapping"], t), shipped["samples"][t]).occurred_at
             for t in ("orders/create", "orders/paid", "orders/cancelled")}
    assert times == {datetime(2026, 11, 1, 14, 3, 22, tzinfo=UTC)}


def test_github_deliveries_follow_the_current_state():
    assert shipped_metrics("github", "push") == {"deliveries": "1.0000"}
    assert shipped_metrics("github", "push", lambda p: p.update(deleted=True)) == {"deliveries": "0.0000"}
    assert shipped_metrics("github", "release") == {"deliveries": "1.0000"}
    for action, expected in (("edited", "1.0000"), ("released", "1.0000"), ("deleted", "0.0000"),
                             ("unpublished", "0.0000")):
        assert shipped_metrics("github", "release", lambda p: p.update(action=action)) == {"deliveries": expected}
    prerelease = shipped_metrics("github", "release", lambda p: p["release"].update(prerelease=True))
    assert prerelease == {"deliveries": "0.0000"}
    unmerged = shipped_metrics("github", "pull_request", lambda p: p["pull_request"].update(merged=False))
    assert unmerged == {"deliveries": "0.0000"}


@pytest.mark.parametrize("stage, value, expected", [
    ("qualified", "1200.00", "1200.0000"), ("won", "1200.00", "0.0000"), ("lost", "1200.00", "0.0000"),
    ("disqualified", "5", "0.0000"), ("new", "", "0.0000"),
])
def test_csv_pipeline_value_is_open_pipeline_only(stage, value, expected):
    metrics = shipped_metrics("manual_csv_import", "row", lambda p: p["row"].update(stage=stage, value=value))
    assert metrics == {"leads": "1.0000", "pipeline_value": expected}


def test_fields_from_adds_the_fields_an_object_holds_without_overriding_named_ones():
    rule = {"object_type": "lead", "external_id": "id", "fields": {"name": "name"}, "fields_from": "extra"}
    record = apply(rule, {"id": "1", "name": "Dana", "extra": {"name": "other", "lead_source": "web",
                                                               "Bad Name": "x", "score": 3}})
    assert record.fields == {"name": "Dana", "lead_source": "web", "score": 3}
    assert apply(rule, {"id": "1", "name": "Dana"}).fields == {"name": "Dana"}
    with pytest.raises(MappingError, match="fields_from: must find an object, got str"):
        apply(rule, {"id": "1", "extra": "x"})
    assert validate({"version": 1, "events": {"x": {**rule, "fields_from": "bad[["}}})[0].startswith(
        "events.x.fields_from: invalid JMESPath")
