"""Payload summaries: masking, truncation, object ids, size bounds, and totality."""
import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import any_text
from zarts.services.ingest import masking
from zarts.services.ingest.masking import DEFAULT_SENSITIVE_KEYS, MASK, is_sensitive, mask_headers, redact
from zarts.services.ingest.summaries import summarize

STRIPE = {
    "id": "evt_1",
    "type": "charge.succeeded",
    "data": {"object": {"id": "ch_1", "customer": "cus_1", "billing_details": {"email": "x@y.com"}}},
}
STRIPE_PATHS = ["id", "data.object.id", "data.object.customer"]


def dumped(summary):
    """Both encodings a summary may be stored in; a leak must show up in neither."""
    return json.dumps(summary, allow_nan=False) + json.dumps(summary, allow_nan=False, ensure_ascii=False)


# --- is_sensitive ---------------------------------------------------------------------------

@pytest.mark.parametrize("key", DEFAULT_SENSITIVE_KEYS)
def test_every_default_key_is_sensitive(key):
    assert is_sensitive(key)
    assert is_sensitive(key.upper())


@pytest.mark.parametrize("key", [
    "customer_email", "billingAddress", "card_number", "api_token", "X-Api-Token", "PASSWORD",
    "client-secret", "e-mail", "Phone Number", "ssn_last4", "IBAN", "ｅｍａｉｌ", "refresh.token",
])
def test_variants_are_sensitive(key):
    assert is_sensitive(key)


@pytest.mark.parametrize("key", ["id", "type", "amount", "customer", "currency", "status", "created", ""])
def test_ordinary_keys_are_not_sensitive(key):
    assert not is_sensitive(key)


def test_sensitive_list_is_configurable():
    assert is_sensitive("X-Api-Key", ("api_key",))
    assert is_sensitive("customer_id", "customer")  # a lone string is one word, not letters
    assert not is_sensitive("email", ("api_key",))
    assert not is_sensitive("password", ())
    assert not is_sensitive("amount", ("", "--"))  # empty words match nothing
    assert is_sensitive("password", None)  # None, or anything not a list of words, means the defaults
    assert is_sensitive("password", 5) and not is_sensitive("amount", 5)
    assert mask_headers({"X-Email": "e"}, sensitive_keys=5) == {"X-Email": MASK}


def test_non_string_keys_are_checked_as_text():
    assert not is_sensitive(42)
    assert is_sensitive(("token",))


# --- redact ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["hunter2", 1234, 12.5, True, None, {"a": "b"}, ["x", {"y": 1}], []])
def test_sensitive_values_are_masked_whatever_their_type(value):
    assert redact({"password": value, "ok": 1}) == {"password": MASK, "ok": 1}


def test_masking_reaches_nested_objects_and_lists():
    payload = {"a": [{"b": {"Card_Number": "4242"}}, {"c": [{"userEmail": "x@y.com", "n": 1}]}]}
    assert redact(payload) == {"a": [{"b": {"Card_Number": MASK}}, {"c": [{"userEmail": MASK, "n": 1}]}]}


def test_redact_never_mutates_its_input():
    payload = {"password": "p", "long": "x" * 500, "list": list(range(100)), "deep": [[[[[[[[1]]]]]]]]}
    before = copy.deepcopy(payload)
    redact(payload)
    summarize(payload, object_id_paths=["password", "list[0]"])
    assert payload == before


def test_long_strings_are_truncated_with_a_count():
    assert redact("a" * 100) == "a" * 80 + "…(+20 chars)"
    assert redact("a" * 80) == "a" * 80
    assert redact("é" * 10, max_string=3) == "ééé…(+7 chars)"


def test_long_keys_are_truncated_too():
    assert list(redact({"k" * 100: 1}, max_string=10)) == ["k" * 10 + "…(+90 chars)"]


def test_long_lists_and_objects_are_cut_with_a_marker():
    assert redact(list(range(25))) == list(range(20)) + ["…(+5 more items)"]
    cut = redact({f"k{i}": i for i in range(5)}, max_items=2)
    assert cut == {"k0": 0, "k1": 1, "…": "+3 more keys"}


def test_depth_beyond_the_limit_becomes_a_marker():
    deep = {"a": {"b": {"c": 1, "d": 2}}}
    assert redact(deep, max_depth=2) == {"a": {"b": "…(object, 2 keys)"}}
    assert redact([[1, 2, 3], [4]], max_depth=1) == ["…(array, 3 items)", "…(array, 1 item)"]
    assert redact({"a": 1}, max_depth=0) == "…(object, 1 key)"


def test_values_json_cannot_hold_become_text():
    out = redact({"inf": float("inf"), "ninf": float("-inf"), "nan": float("nan"), "big": 2 ** 200,
                  "huge": 10 ** 5000, "i64": 2 ** 63, "b": b"raw", "set": {1}})
    assert out["inf"] == "inf" and out["ninf"] == "-inf" and out["nan"] == "nan"
    assert out["big"].startswith("16069380442589902755419620923411626025222029937827928353013")
    assert out["huge"] == "<integer of ~5000 digits>"
    assert out["i64"] == 2 ** 63
    assert out["b"] == "b'raw'" and out["set"] == "{1}"
    json.dumps(out, allow_nan=False)


def test_weird_unicode_survives_and_encodes():
    out = redact({"\ud800key": "lone \udfff surrogate", "emoji": "👩‍👩‍👧" * 50, "nul": "a\x00b"})
    text = json.dumps(out, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogates left
    assert out["nul"] == "a\x00b"


def test_non_string_keys_become_strings():
    assert redact({1: "a", None: "b", (1, 2): "c"}) == {"1": "a", "None": "b", "(1, 2)": "c"}


def test_redact_with_silly_limits_does_not_raise():
    assert redact({"a": "bc"}, max_string=-5, max_items=-1, max_depth=10 ** 9) == {"…": "+1 more key"}
    assert redact({"a": 1}, max_depth="x").startswith("<unrepresentable")


# --- summarize ------------------------------------------------------------------------------

def test_stripe_like_event():
    summary = summarize(STRIPE, event_type="charge.succeeded", object_id_paths=STRIPE_PATHS, body_size=140)
    assert summary["event_type"] == "charge.succeeded"
    assert summary["body_size"] == 140
    assert summary["unparseable"] is False
    assert summary["object_ids"] == {"id": "evt_1", "data.object.id": "ch_1", "data.object.customer": "cus_1"}
    assert [(k["key"], k["type"], k["size"]) for k in summary["keys"]] == [
        ("id", "string", 5), ("type", "string", 16), ("data", "object", 1)]
    assert summary["keys"][0]["value"] == "evt_1"
    assert summary["keys"][2]["value"] == {"object": "…(object, 3 keys)"}  # shallow preview
    assert summary["more_keys"] == 0
    assert summary["preview"]["data"]["object"]["billing_details"] == {"email": MASK}
    assert "x@y.com" not in dumped(summary)


def test_object_id_paths_under_sensitive_keys_are_masked():
    payload = {"customer": {"email": "MARKER-ID-1", "address": {"zip": "MARKER-ID-2"}}, "ids": [7, 8]}
    summary = summarize(payload, object_id_paths=["customer.email", "customer.address.zip", "ids[1]"])
    assert summary["object_ids"] == {"customer.email": MASK, "customer.address.zip": MASK, "ids[1]": 8}
    assert "MARKER-ID" not in dumped(summary)


@pytest.mark.parametrize("path", [
    "values(customer)[0]", "customer.*", "customer.* | [0]", "join(',', values(customer))",
    "to_string(customer)", "customer.[*]", "keys(customer)[0]",
])
def test_wildcards_and_functions_cannot_reach_sensitive_values(path):
    summary = summarize({"customer": {"e_mail": "MARKER-WILD"}}, object_id_paths=[path])
    assert "MARKER-WILD" not in dumped(summary)


@pytest.mark.parametrize("path, expected", [
    ("items[*].id | [1]", "it_2"), ("items[?kind=='b'].id | [0]", "it_2"), ("length(items)", 2),
    ("items[-1].owner.id", "usr_1"), ('"X-Ref"', "ref_1"),
])
def test_object_id_paths_may_use_any_jmespath(path, expected):
    payload = {"X-Ref": "ref_1", "items": [{"id": "it_1", "kind": "a"},
                                           {"id": "it_2", "kind": "b", "owner": {"id": "usr_1", "email": "e"}}]}
    assert summarize(payload, object_id_paths=[path])["object_ids"] == {path: expected}


@pytest.mark.parametrize("path", [
    "missing", "data", "flag", "ratio", "nothing", "[[bad", "", "data.a.b.c", "length(`1`)",
])
def test_object_id_paths_that_yield_no_scalar_id_are_skipped(path):
    payload = {"data": {"a": 1}, "flag": True, "ratio": 1.5, "nothing": None}
    assert summarize(payload, object_id_paths=[path])["object_ids"] == {}


def test_object_id_paths_accept_odd_input():
    payload = {"id": "evt_1", "n": 2 ** 100, "long": "x" * 300}
    summary = summarize(payload, object_id_paths="id")  # one path given as a string
    assert summary["object_ids"] == {"id": "evt_1"}
    ids = summarize(payload, object_id_paths=["n", "long", None, 5])["object_ids"]
    assert ids["n"] == "1267650600228229401496703205376"
    assert ids["long"] == "x" * 64 + "…(+236 chars)"
    assert summarize(payload, object_id_paths=None)["object_ids"] == {}


def test_key_entries_describe_types_sizes_and_short_values():
    payload = {"s": "x" * 100, "n": 3, "f": 1.5, "b": False, "z": None, "a": [1, [2], {"c": 3}],
               "o": {f"k{i}": i for i in range(9)}, "token": "MARKER-TOKEN"}
    keys = {k["key"]: k for k in summarize(payload)["keys"]}
    assert {k: (e["type"], e["size"]) for k, e in keys.items()} == {
        "s": ("string", 100), "n": ("number", None), "f": ("number", None), "b": ("boolean", None),
        "z": ("null", None), "a": ("array", 3), "o": ("object", 9), "token": ("string", None)}
    assert keys["s"]["value"] == "x" * 80 + "…(+20 chars)"
    assert keys["a"]["value"] == [1, "…(array, 1 item)", "…(object, 1 key)"]
    assert keys["o"]["value"] == {"k0": 0, "k1": 1, "k2": 2, "k3": 3, "k4": 4, "…": "+4 more keys"}
    assert keys["token"] == {"key": "token", "type": "string", "masked": True, "size": None, "value": MASK}
    assert not keys["s"]["masked"]


def test_only_fifty_top_level_keys_are_listed():
    summary = summarize({f"key{i:03}": i for i in range(120)})
    assert len(summary["keys"]) == 50
    assert summary["keys"][0]["key"] == "key000"
    assert summary["more_keys"] == 70
    assert summary["payload_size"] == 120


@pytest.mark.parametrize("payload, kind", [([{"password": "MARKER-LIST"}, 2], "array"), ("text", "string"),
                                           (42, "number"), (True, "boolean")])
def test_non_object_payloads_have_no_keys_but_a_preview(payload, kind):
    summary = summarize(payload, event_type="x")
    assert summary["keys"] == [] and summary["more_keys"] == 0
    assert summary["payload_type"] == kind
    assert summary["preview"] == redact(payload)
    assert "MARKER-LIST" not in dumped(summary)


def test_unparseable_payload():
    assert summarize(None, event_type="push", body_size=12, object_id_paths=["id"]) == {
        "event_type": "push", "body_size": 12, "unparseable": True}


def test_head_fields_are_bounded_and_typed():
    summary = summarize({}, event_type="e" * 500, body_size="12")
    assert summary["event_type"] == "e" * 200 + "…(+300 chars)"
    assert summary["body_size"] is None
    assert summarize({}, event_type=None, body_size=True)["event_type"] == ""


def test_configurable_sensitive_list_replaces_the_default():
    summary = summarize(STRIPE, object_id_paths=STRIPE_PATHS, sensitive_keys=("customer",))
    assert summary["object_ids"]["data.object.customer"] == MASK
    assert summary["preview"]["data"]["object"]["customer"] == MASK
    assert "x@y.com" in json.dumps(summary)  # no longer on the list: the admin's choice
    assert "cus_1" not in json.dumps(summary)


SENSITIVE_SPELLINGS = ["password", "Secret", "ACCESS_TOKEN", "authorization", "cardNumber", "iban",
                       "ssn", "customer_email", "Phone", "billing-address", "X-Api-Token"]


@pytest.mark.parametrize("key", SENSITIVE_SPELLINGS)
@pytest.mark.parametrize("depth", [0, 1, 3, 5, 8])
def test_planted_markers_never_appear(key, depth):
    secret = {"inner": f"MARKER-{key}-{depth}", "list": [f"MARKER-{key}-list"]}
    payload = {key: f"MARKER-{key}-scalar", "nested": {key: secret}}
    for level in range(depth):
        payload = {"level": level, "items": [payload, {key: f"MARKER-{level}"}], "obj": payload}
    summary = summarize(payload, event_type="t", object_id_paths=["nested.inner", "items[0].nested"])
    assert "MARKER" not in dumped(summary)
    assert "MARKER" not in json.dumps(redact(payload, max_depth=20))


def test_the_preview_shrinks_to_fit():
    payload = {f"k{i}": {f"n{j}": "v" * 70 for j in range(20)} for i in range(20)}
    summary = summarize(payload)
    assert len(json.dumps(summary["preview"])) <= 4096
    assert isinstance(summary["preview"], dict)  # shallower, not gone


def test_a_megabyte_of_ten_thousand_keys_gives_a_small_summary():
    payload = {f"field_{i}": "v" * 100 for i in range(10_000)}
    assert len(json.dumps(payload)) > 1_000_000
    summary = summarize(payload, event_type="bulk", object_id_paths=["field_1"], body_size=1_200_000)
    assert len(json.dumps(summary)) < 16_000
    assert summary["more_keys"] == 10_000 - 50
    assert summary["object_ids"] == {"field_1": "v" * 64 + "…(+36 chars)"}


@pytest.mark.parametrize("payload", [
    {"🧨" * 300 + str(i): ["💥" * 300] * 30 for i in range(100)},  # 12 escaped bytes a character
    [list(range(1000))] * 1000,
    {"a": "x" * 5_000_000},
])
def test_adversarial_payloads_stay_bounded(payload):
    summary = summarize(payload, event_type="🧨" * 200)
    assert "error" not in summary
    assert len(json.dumps(summary)) < 16_000


def test_deep_nesting_is_cut_not_a_recursion_error():
    payload = leaf = {}
    for _ in range(5000):
        leaf["a"] = {}
        leaf = leaf["a"]
    summary = summarize(payload, object_id_paths=["a.a.a", "a.*", "length(a.a)"])
    assert "error" not in summary
    assert summary["object_ids"] == {"length(a.a)": 1}


def test_preview_work_is_bounded_whatever_the_payload(monkeypatch):
    def tree(depth):
        return {f"k{i}": tree(depth - 1) if depth else i for i in range(8)}

    payload = {"id": "evt_1", "data": [tree(3) for _ in range(25)]}
    assert len(json.dumps(payload)) > 1_000_000
    calls = []
    original = masking.safe_scalar
    monkeypatch.setattr(masking, "safe_scalar", lambda *args: calls.append(1) or original(*args))
    summarize(payload, object_id_paths=["id"])
    assert len(calls) < 20_000  # each rung of the preview ladder stops once it cannot fit


def test_shared_and_cyclic_structures_terminate():
    shared = [1] * 20
    for _ in range(10):
        shared = [shared] * 20  # 20**10 paths through 11 objects
    cyclic = {"x": 1}
    cyclic["self"] = cyclic
    for payload in ({"a": shared}, cyclic):
        summary = summarize(payload, object_id_paths=["a[0][0][0]", "self.self.x", "a[*] | [0][0][0][0]", "*.x"])
        assert "error" not in summary
        json.dumps(summary)


# --- mask_headers ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "Authorization", "authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "Stripe-Signature",
    "webhook-signature", "X-Hub-Signature-256", "X-Hub-Signature", "X-Shopify-Hmac-Sha256",
    "X-Slack-Signature", "X-Api-Key", "X-Auth-Token", "X-Customer-Email",
])
def test_secret_headers_are_masked(name):
    assert mask_headers({name: "MARKER-HEADER", "Accept": "*/*"}) == {name: MASK, "Accept": "*/*"}


@pytest.mark.parametrize("name", [
    "Content-Type", "User-Agent", "webhook-id", "webhook-timestamp", "X-GitHub-Delivery", "X-GitHub-Event",
    "X-Shopify-Webhook-Id", "X-Shopify-Topic", "Content-Length", "X-Request-Id",
])
def test_ordinary_headers_are_kept(name):
    assert mask_headers({name: "value-1"}) == {name: "value-1"}


def test_header_values_are_truncated_and_repeats_joined():
    headers = [("User-Agent", "u" * 300), ("Via", "a"), ("Via", "b"), ("Cookie", "c1"), ("Cookie", "c2"), ("X", 7)]
    assert mask_headers(headers) == {"User-Agent": "u" * 200 + "…(+100 chars)", "Via": "a, b", "Cookie": MASK,
                                     "X": "7"}


def test_werkzeug_headers_are_accepted():
    from werkzeug.datastructures import Headers

    headers = Headers([("Authorization", "Bearer MARKER"), ("X-Tag", "a"), ("X-Tag", "b")])
    assert mask_headers(headers) == {"Authorization": MASK, "X-Tag": "a, b"}


def test_mask_headers_is_bounded_and_total():
    assert len(mask_headers({f"X-H{i}": "v" for i in range(500)})) == 100
    assert mask_headers(None) == {}
    assert mask_headers([("ok", "1"), "not-a-pair"]) == {"ok": "1"}
    assert mask_headers({"X-Internal-Ref": "r"}, sensitive_keys=("internal",)) == {"X-Internal-Ref": MASK}


# --- properties -----------------------------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2 ** 63, max_value=2 ** 400)
           | st.floats() | any_text(120))
JSON_LIKE = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=30) | st.dictionaries(any_text(30), children, max_size=30),
    max_leaves=300,
)
PATHS = st.lists(st.sampled_from(["id", "a.b", "[0]", "*.id", "values(@)[0]", "x[?y].z", "[[", "length(@)"]),
                 max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=JSON_LIKE, event_type=any_text(300), paths=PATHS,
       body_size=st.none() | st.integers(min_value=0))
def test_summarize_is_total_serialisable_and_bounded(payload, event_type, paths, body_size):
    summary = summarize(payload, event_type=event_type, object_id_paths=paths, body_size=body_size)
    assert isinstance(summary, dict)
    assert "error" not in summary
    text = json.dumps(summary, allow_nan=False)
    json.dumps(summary, ensure_ascii=False).encode("utf-8")
    assert len(text) < 16_000
    json.dumps(redact(payload), allow_nan=False)


PLANTED = "PLANTED-SECRET-VALUE"
SECRET_TREES = st.recursive(st.just(PLANTED) | st.integers(),
                            lambda c: st.lists(c, max_size=3) | st.dictionaries(any_text(5), c, max_size=3),
                            max_leaves=10)
SECRET_KEYS = st.builds(lambda prefix, word, upper: prefix + (word.upper() if upper else word),
                        st.sampled_from(["", "x_", "customer-", "Billing"]), st.sampled_from(DEFAULT_SENSITIVE_KEYS),
                        st.booleans())


def _with_secrets(children):
    plain = st.dictionaries(any_text(10), children, max_size=5)
    planted = st.builds(lambda d, k, v: {**d, k: v}, plain, SECRET_KEYS, SECRET_TREES)
    return st.lists(children, max_size=5) | plain | planted


@settings(max_examples=300, deadline=None)
@given(payload=st.recursive(SCALARS.filter(lambda v: not (isinstance(v, str) and "PLANTED" in v)),
                            _with_secrets, max_leaves=80),
       paths=PATHS)
def test_values_under_sensitive_keys_never_leak(payload, paths):
    summary = summarize({"root": payload}, object_id_paths=paths + ["root.*", "root[0]"])
    assert PLANTED not in dumped(summary)
