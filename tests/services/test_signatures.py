"""Signature schemes: published vectors, round trips, rotation, tolerance edges and garbage input."""
import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from tests.strategies import any_text
from zarts.services.ingest import signatures
from zarts.services.ingest.signatures import SignatureError, sign, verify

NOW = 1_700_000_000
SIGNED = ("standard", "stripe", "github", "shopify")
TIMED = ("standard", "stripe")
# (current, previous) per scheme, in the forms zarts.services.secrets generates.
SECRETS = {
    "standard": ("whsec_" + base64.b64encode(b"new-key-" * 3).decode(),
                 "whsec_" + base64.b64encode(b"old-key-" * 3).decode()),
    "stripe": ("whsec_newNEWnew123", "whsec_oldOLDold456"),
    "github": ("new github secret", "old github secret"),
    "shopify": ("new-shopify-secret", "old-shopify-secret"),
}
SIGNATURE_HEADER = {
    "standard": "webhook-signature",
    "stripe": "Stripe-Signature",
    "github": "X-Hub-Signature-256",
    "shopify": "X-Shopify-Hmac-Sha256",
}
REQUIRED = {
    "standard": ("webhook-id", "webhook-timestamp", "webhook-signature"),
    "stripe": ("Stripe-Signature",),
    "github": ("X-Hub-Signature-256",),
    "shopify": ("X-Shopify-Hmac-Sha256",),
}
BODIES = [
    b"",
    b'{"id": "evt_1", "type": "invoice.paid"}',
    "{\"name\": \"Zoë ✓ 日本\"}".encode(),
    b"\xff\xfe\x80\x00not utf-8\xc3",
    bytes(range(256)) * 4096,
]


def signed(scheme, body=b'{"ok": true}', secret=None, timestamp=NOW, msg_id="msg_1"):
    """Headers for body signed with the scheme's current secret (or secret) at timestamp."""
    secret = SECRETS[scheme][0] if secret is None else secret
    return sign(scheme, body, secret, msg_id=msg_id, timestamp=timestamp)


def reason_of(scheme, body, headers, secrets=None, now=NOW, **kwargs):
    """The SignatureError reason verify raises (fails the test if it passes)."""
    secrets = [SECRETS[scheme][0]] if secrets is None else secrets
    with pytest.raises(SignatureError) as info:
        verify(scheme, body, headers, secrets, now=now, **kwargs)
    return info.value.reason


# Published vectors ---------------------------------------------------------------------------

STANDARD_VECTOR = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": b'{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
GITHUB_VECTOR = {
    "secret": "It's a Secret to Everybody",
    "body": b"Hello, World!",
    "signature": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
}


def test_standard_vector_verifies():
    v = STANDARD_VECTOR
    headers = {"webhook-id": v["msg_id"], "webhook-timestamp": str(v["timestamp"]),
               "webhook-signature": v["signature"]}
    assert verify("standard", v["body"], headers, [v["secret"]], now=v["timestamp"]) is None


def test_standard_vector_is_reproduced_by_sign():
    v = STANDARD_VECTOR
    headers = sign("standard", v["body"], v["secret"], msg_id=v["msg_id"], timestamp=v["timestamp"])
    assert headers == {"webhook-id": v["msg_id"], "webhook-timestamp": str(v["timestamp"]),
                       "webhook-signature": v["signature"]}


def test_github_vector_verifies():
    v = GITHUB_VECTOR
    headers = {"X-Hub-Signature-256": v["signature"]}
    assert verify("github", v["body"], headers, [v["secret"]]) is None


def test_github_vector_is_reproduced_by_sign():
    v = GITHUB_VECTOR
    headers = sign("github", v["body"], v["secret"], msg_id="delivery-1")
    assert headers == {"X-Hub-Signature-256": v["signature"], "X-GitHub-Delivery": "delivery-1"}


def test_standard_vector_rejects_other_body_and_secret():
    v = STANDARD_VECTOR
    headers = {"webhook-id": v["msg_id"], "webhook-timestamp": str(v["timestamp"]),
               "webhook-signature": v["signature"]}
    assert reason_of("standard", b'{"test": 2432232315}', headers, [v["secret"]],
                     now=v["timestamp"]) == "no signature matched"
    assert reason_of("standard", v["body"], headers, SECRETS["standard"][:1],
                     now=v["timestamp"]) == "no signature matched"


# sign() shape ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme, names", [
    ("standard", {"webhook-id", "webhook-timestamp", "webhook-signature"}),
    ("stripe", {"Stripe-Signature"}),
    ("github", {"X-Hub-Signature-256", "X-GitHub-Delivery"}),
    ("shopify", {"X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id"}),
    ("none", set()),
])
def test_sign_returns_the_provider_headers(scheme, names):
    headers = sign(scheme, b"{}", SECRETS.get(scheme, ("x",))[0], msg_id="m-1", timestamp=NOW)
    assert set(headers) == names
    assert all(isinstance(value, str) for value in headers.values())


@pytest.mark.parametrize("scheme, id_header", [
    ("standard", "webhook-id"), ("github", "X-GitHub-Delivery"), ("shopify", "X-Shopify-Webhook-Id"),
])
def test_sign_uses_msg_id_and_defaults_to_a_random_one(scheme, id_header):
    secret = SECRETS[scheme][0]
    assert sign(scheme, b"{}", secret, msg_id="m-42")[id_header] == "m-42"
    first, second = (sign(scheme, b"{}", secret)[id_header] for _ in range(2))
    assert first and second and first != second


def test_sign_stripe_header_format():
    header = signed("stripe")["Stripe-Signature"]
    t, v1 = header.split(",")
    assert t == f"t={NOW}"
    assert v1.startswith("v1=") and len(v1) == 3 + 64


@pytest.mark.parametrize("scheme", SIGNED)
def test_sign_defaults_timestamp_to_now(scheme):
    headers = sign(scheme, b"{}", SECRETS[scheme][0])
    assert verify(scheme, b"{}", headers, [SECRETS[scheme][0]]) is None


@pytest.mark.parametrize("secret", ["whsec_a", "whsec_", "whsec_!!!!", "whsec_é"])
def test_sign_standard_rejects_an_undecodable_secret(secret):
    with pytest.raises(ValueError):
        sign("standard", b"{}", secret)


# Round trips and rejections for every scheme --------------------------------------------------

@pytest.mark.parametrize("body", BODIES, ids=["empty", "json", "unicode", "non-utf8", "large"])
@pytest.mark.parametrize("scheme", SIGNED)
def test_round_trip(scheme, body):
    assert verify(scheme, body, signed(scheme, body), [SECRETS[scheme][0]], now=NOW) is None


@pytest.mark.parametrize("scheme", SIGNED)
def test_round_trip_accepts_bytearray_and_memoryview(scheme):
    body = b'{"ok": true}'
    headers = signed(scheme, body)
    for raw in (bytearray(body), memoryview(body)):
        assert verify(scheme, raw, headers, [SECRETS[scheme][0]], now=NOW) is None


@pytest.mark.parametrize("scheme", SIGNED)
def test_wrong_secret_fails(scheme):
    body = b'{"ok": true}'
    headers = signed(scheme, body, secret=SECRETS[scheme][1])
    assert reason_of(scheme, body, headers) == "no signature matched"


@pytest.mark.parametrize("scheme", SIGNED)
def test_no_secrets_fails(scheme):
    body = b"{}"
    assert reason_of(scheme, body, signed(scheme, body), secrets=[]) == "no signature matched"


@pytest.mark.parametrize("scheme", SIGNED)
@pytest.mark.parametrize("empty", ["", None])
def test_empty_secret_never_matches(scheme, empty):
    # An empty HMAC key is still a key: a blank stored secret must not accept anything.
    body = b"{}"
    headers = sign(scheme, body, "", msg_id="m", timestamp=NOW) if scheme != "standard" \
        else signed(scheme, body)
    assert reason_of(scheme, body, headers, secrets=[empty]) == "no signature matched"


@pytest.mark.parametrize("scheme, missing",
                         [(scheme, name) for scheme in SIGNED for name in REQUIRED[scheme]])
@pytest.mark.parametrize("how", ["absent", "empty", "blank"])
def test_missing_header_fails(scheme, missing, how):
    body = b"{}"
    headers = signed(scheme, body)
    del headers[missing]
    if how == "empty":
        headers[missing] = ""
    elif how == "blank":
        headers[missing] = "   "
    assert reason_of(scheme, body, headers) == "missing signature header"


@pytest.mark.parametrize("scheme", SIGNED)
def test_no_headers_at_all_fails(scheme):
    assert reason_of(scheme, b"{}", {}) == "missing signature header"
    assert reason_of(scheme, b"{}", Headers()) == "missing signature header"


@pytest.mark.parametrize("position", [0, 1, 7, -1])
@pytest.mark.parametrize("scheme", SIGNED)
def test_tampered_body_fails(scheme, position):
    body = bytearray(b'{"amount": 100, "currency": "eur"}')
    headers = signed(scheme, bytes(body))
    body[position] ^= 0x01
    assert reason_of(scheme, bytes(body), headers) == "no signature matched"


@pytest.mark.parametrize("scheme", SIGNED)
def test_appended_or_truncated_body_fails(scheme):
    body = b'{"amount": 100}'
    headers = signed(scheme, body)
    assert reason_of(scheme, body + b" ", headers) == "no signature matched"
    assert reason_of(scheme, body[:-1], headers) == "no signature matched"


@pytest.mark.parametrize("scheme", SIGNED)
def test_rotation(scheme):
    new, old = SECRETS[scheme]
    body = b'{"rotating": true}'
    headers = signed(scheme, body, secret=old)
    assert verify(scheme, body, headers, [new, old], now=NOW) is None
    assert verify(scheme, body, headers, [old, new], now=NOW) is None
    assert reason_of(scheme, body, headers, secrets=[new]) == "no signature matched"
    fresh = signed(scheme, body, secret=new)
    assert verify(scheme, body, fresh, [new, old], now=NOW) is None


@pytest.mark.parametrize("scheme", SIGNED)
def test_unusable_secret_is_skipped_not_fatal(scheme):
    body = b"{}"
    junk = ["whsec_a", "whsec_", "whsec_!!!!", "whsec_é", "", None]
    assert verify(scheme, body, signed(scheme, body), junk + [SECRETS[scheme][0]], now=NOW) is None


# Multiple signatures --------------------------------------------------------------------------

def _other_signature(scheme, body):
    """A well-formed signature value for body made with a secret nobody configured."""
    other = signed(scheme, body, secret=SECRETS[scheme][1])[SIGNATURE_HEADER[scheme]]
    return other.split(",", 1)[1] if scheme == "standard" else other.split("v1=")[1]


@pytest.mark.parametrize("extra", [1, 2, 5])
def test_standard_second_signature_matches(extra):
    body = b'{"n": 1}'
    headers = signed("standard", body)
    good = headers["webhook-signature"]
    bad = "v1," + _other_signature("standard", body)
    headers["webhook-signature"] = " ".join([bad] * extra + [good])
    assert verify("standard", body, headers, [SECRETS["standard"][0]], now=NOW) is None
    headers["webhook-signature"] = " ".join([bad] * extra)
    assert reason_of("standard", body, headers) == "no signature matched"


@pytest.mark.parametrize("extra", [1, 2, 5])
def test_stripe_second_signature_matches(extra):
    body = b'{"n": 1}'
    good = signed("stripe", body)["Stripe-Signature"].split(",")[1]
    bad = "v1=" + _other_signature("stripe", body)
    headers = {"Stripe-Signature": ",".join([f"t={NOW}"] + [bad] * extra + [good])}
    assert verify("stripe", body, headers, [SECRETS["stripe"][0]], now=NOW) is None
    headers = {"Stripe-Signature": ",".join([f"t={NOW}"] + [bad] * extra)}
    assert reason_of("stripe", body, headers) == "no signature matched"


@pytest.mark.parametrize("other", ["v1a,bm90IGNoZWNrZWQ=", "v2,!!garbage!!", "ed25519,abc"])
def test_standard_ignores_other_versions(other):
    body = b"{}"
    headers = signed("standard", body)
    headers["webhook-signature"] = f"{other} {headers['webhook-signature']}"
    assert verify("standard", body, headers, [SECRETS["standard"][0]], now=NOW) is None
    headers["webhook-signature"] = other
    assert reason_of("standard", body, headers) == "no signature matched"


@pytest.mark.parametrize("other", ["v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39",
                                   "v0=zz", "v9=whatever", "scheme=x"])
def test_stripe_ignores_other_schemes(other):
    body = b"{}"
    t, v1 = signed("stripe", body)["Stripe-Signature"].split(",")
    headers = {"Stripe-Signature": f"{t},{other},{v1}"}
    assert verify("stripe", body, headers, [SECRETS["stripe"][0]], now=NOW) is None
    headers = {"Stripe-Signature": f"{t},{other}"}
    assert reason_of("stripe", body, headers) == "no signature matched"


def test_stripe_accepts_spaces_after_commas_and_any_order():
    body = b"{}"
    t, v1 = signed("stripe", body)["Stripe-Signature"].split(",")
    for header in (f"{t}, {v1}", f"{v1},{t}", f" {t} , {v1} "):
        assert verify("stripe", body, {"Stripe-Signature": header}, [SECRETS["stripe"][0]],
                      now=NOW) is None


def test_github_accepts_uppercase_hex():
    body = b"{}"
    headers = signed("github", body)
    headers["X-Hub-Signature-256"] = "sha256=" + headers["X-Hub-Signature-256"][7:].upper()
    assert verify("github", body, headers, [SECRETS["github"][0]]) is None


# Timestamps -----------------------------------------------------------------------------------

@pytest.mark.parametrize("offset", [-300, -299, -1, 0, 1, 299, 300])
@pytest.mark.parametrize("scheme", TIMED)
def test_timestamp_inside_tolerance_passes(scheme, offset):
    body = b"{}"
    headers = signed(scheme, body, timestamp=NOW)
    assert verify(scheme, body, headers, [SECRETS[scheme][0]], now=NOW + offset) is None


@pytest.mark.parametrize("offset", [-301, 301, -300.5, 300.5, -86_400, 86_400, -NOW])
@pytest.mark.parametrize("scheme", TIMED)
def test_timestamp_outside_tolerance_fails(scheme, offset):
    body = b"{}"
    headers = signed(scheme, body, timestamp=NOW)
    assert reason_of(scheme, body, headers, now=NOW + offset) == "timestamp outside tolerance"


@pytest.mark.parametrize("scheme", TIMED)
def test_tolerance_is_configurable(scheme):
    body = b"{}"
    headers = signed(scheme, body, timestamp=NOW)
    assert verify(scheme, body, headers, [SECRETS[scheme][0]], now=NOW + 600, tolerance=600) is None
    assert reason_of(scheme, body, headers, now=NOW + 11, tolerance=10) == "timestamp outside tolerance"


@pytest.mark.parametrize("scheme", TIMED)
def test_stale_and_unsigned_is_reported_as_no_match(scheme):
    # The signature is checked first, so "outside tolerance" is only said of genuine deliveries.
    body = b"{}"
    headers = signed(scheme, body, secret=SECRETS[scheme][1], timestamp=NOW)
    assert reason_of(scheme, body, headers, now=NOW + 10_000) == "no signature matched"


@pytest.mark.parametrize("scheme", TIMED)
def test_timestamp_is_part_of_the_signed_message(scheme):
    body = b"{}"
    headers = signed(scheme, body, timestamp=NOW)
    moved = signed(scheme, body, timestamp=NOW + 1)
    if scheme == "standard":
        headers["webhook-timestamp"] = moved["webhook-timestamp"]
    else:
        headers["Stripe-Signature"] = headers["Stripe-Signature"].replace(f"t={NOW}", f"t={NOW + 1}")
    assert reason_of(scheme, body, headers) == "no signature matched"


def test_standard_msg_id_is_part_of_the_signed_message():
    body = b"{}"
    headers = signed("standard", body, msg_id="msg_1")
    headers["webhook-id"] = "msg_2"
    assert reason_of("standard", body, headers) == "no signature matched"


def test_verify_uses_the_real_clock_by_default():
    body = b"{}"
    headers = signed("stripe", body, timestamp=NOW)  # years ago
    with pytest.raises(SignatureError) as info:
        verify("stripe", body, headers, [SECRETS["stripe"][0]])
    assert info.value.reason == "timestamp outside tolerance"


# Malformed headers ----------------------------------------------------------------------------

BAD_TIMESTAMPS = ["abc", "1.5", "1700000000.0", "-1700000000", "+1700000000", "1e9", "0x10",
                  "1_700_000_000", "１７００", "١٧٠٠٠٠٠٠٠٠", "²", "9" * 5000, "17000 00000", "NaN",
                  "inf", "1700000000\n1"]


@pytest.mark.parametrize("ts", BAD_TIMESTAMPS)
def test_standard_bad_timestamp_is_malformed(ts):
    body = b"{}"
    headers = signed("standard", body)
    headers["webhook-timestamp"] = ts
    assert reason_of("standard", body, headers) == "malformed signature header"


@pytest.mark.parametrize("ts", BAD_TIMESTAMPS + [""])
def test_stripe_bad_timestamp_is_malformed(ts):
    body = b"{}"
    v1 = signed("stripe", body)["Stripe-Signature"].split(",")[1]
    assert reason_of("stripe", body, {"Stripe-Signature": f"t={ts},{v1}"}) \
        == "malformed signature header"


@pytest.mark.parametrize("value", [
    "v1",                      # no comma
    "garbage",
    "v1,!!!!",                 # not base64
    "v1,abc",                  # bad padding
    "v1,é",                    # not ASCII
    "v1,YWJj ZGVm v1",         # trailing entry without comma
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",  # padding stripped
    "v1," + "A" * 100_001,
])
def test_standard_malformed_signature(value):
    body = b"{}"
    headers = signed("standard", body)
    headers["webhook-signature"] = value
    assert reason_of("standard", body, headers) == "malformed signature header"


@pytest.mark.parametrize("value", [
    "v1,",                     # empty base64 decodes to nothing: well formed, matches nothing
    "v1,YWJj",                 # base64 of the wrong length
    "v1a,abc",
    "v1," + "A" * 100_000,     # huge but valid base64
])
def test_standard_wellformed_but_wrong_signature(value):
    body = b"{}"
    headers = signed("standard", body)
    headers["webhook-signature"] = value
    assert reason_of("standard", body, headers) == "no signature matched"


@pytest.mark.parametrize("value", [
    "v1=abc",                  # hex without timestamp
    f"t={NOW}",                # no signature at all is fine structurally ...
    f"t={NOW},v1=zz",
    f"t={NOW},v1=abc",         # odd-length hex
    f"t={NOW},v1=",
    f"t={NOW},v1=ab cd",
    f"t={NOW},v1=éé",
    f"t={NOW},t={NOW},v1=00",  # two timestamps
    f"t={NOW},,v1=00",
    f"t={NOW};v1=00",
    f"t={NOW},v1",
    "garbage",
    ",",
    "=",
    "t=" + "1" * 100_000,
])
def test_stripe_malformed_header(value):
    expected = "no signature matched" if value == f"t={NOW}" else "malformed signature header"
    assert reason_of("stripe", b"{}", {"Stripe-Signature": value}) == expected


@pytest.mark.parametrize("value", [
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",  # no prefix
    "sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
    "SHA256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    "sha256=",
    "sha256=zz",
    "sha256=abc",
    "sha256=ab cd",
    "sha256=ééé",
    "sha256",
    "sha256=" + "g" * 64,
])
def test_github_malformed_header(value):
    body = GITHUB_VECTOR["body"]
    headers = {"X-Hub-Signature-256": value}
    assert reason_of("github", body, headers, [GITHUB_VECTOR["secret"]]) == "malformed signature header"


@pytest.mark.parametrize("value", ["sha256=00", "sha256=" + "0" * 64, "sha256=" + "ab" * 50_000])
def test_github_wellformed_but_wrong(value):
    assert reason_of("github", b"{}", {"X-Hub-Signature-256": value}) == "no signature matched"


@pytest.mark.parametrize("value", ["!!!!", "abc", "é", "YWJj\x00", "sha256=abcd", "a b c d"])
def test_shopify_malformed_header(value):
    assert reason_of("shopify", b"{}", {"X-Shopify-Hmac-Sha256": value}) == "malformed signature header"


@pytest.mark.parametrize("value", ["YWJj", "A" * 44, "A" * 100_000])
def test_shopify_wellformed_but_wrong(value):
    assert reason_of("shopify", b"{}", {"X-Shopify-Hmac-Sha256": value}) == "no signature matched"


@pytest.mark.parametrize("scheme", SIGNED)
@pytest.mark.parametrize("value", [b"bytes", 12345, ["v1,abc"]])
def test_non_string_header_value_is_malformed(scheme, value):
    headers = signed(scheme, b"{}")
    headers[SIGNATURE_HEADER[scheme]] = value
    assert reason_of(scheme, b"{}", headers) == "malformed signature header"


def test_standard_lone_surrogate_in_msg_id_is_malformed():
    headers = signed("standard", b"{}")
    headers["webhook-id"] = "msg_\ud800"
    assert reason_of("standard", b"{}", headers) == "malformed signature header"


# Header lookup --------------------------------------------------------------------------------

@pytest.mark.parametrize("transform", [str.lower, str.upper, str.title], ids=["lower", "upper", "title"])
@pytest.mark.parametrize("scheme", SIGNED)
def test_plain_dict_headers_are_case_insensitive(scheme, transform):
    body = b"{}"
    headers = {transform(name): value for name, value in signed(scheme, body).items()}
    assert verify(scheme, body, headers, [SECRETS[scheme][0]], now=NOW) is None


@pytest.mark.parametrize("scheme", SIGNED)
def test_werkzeug_headers(scheme):
    body = b"{}"
    headers = Headers([(name.upper(), value) for name, value in signed(scheme, body).items()])
    headers.add("X-Unrelated", "1")
    assert verify(scheme, body, headers, [SECRETS[scheme][0]], now=NOW) is None


@pytest.mark.parametrize("scheme", SIGNED)
def test_surrounding_whitespace_in_values_is_tolerated(scheme):
    # Except in webhook-id: the id is signed exactly as sent (HTTP servers strip it anyway).
    body = b"{}"
    headers = {name: value if name == "webhook-id" else f"  {value} "
               for name, value in signed(scheme, body).items()}
    assert verify(scheme, body, headers, [SECRETS[scheme][0]], now=NOW) is None


# Schemes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"X-Anything": "junk"}, Headers()])
def test_none_scheme_always_passes(headers):
    assert verify("none", b"\xff anything", headers, []) is None
    assert sign("none", b"{}", "secret") == {}


@pytest.mark.parametrize("scheme", ["", "Standard", "hmac", "sha256", None])
def test_unknown_scheme_is_a_value_error(scheme):
    with pytest.raises(ValueError):
        verify(scheme, b"{}", {}, ["secret"])
    with pytest.raises(ValueError):
        sign(scheme, b"{}", "secret")


def test_signature_error_carries_its_reason():
    error = SignatureError("no signature matched")
    assert error.reason == "no signature matched"
    assert str(error) == "no signature matched"
    assert isinstance(error, Exception) and not isinstance(error, ValueError)
    assert signatures.TOLERANCE_SECONDS == 300


# Property: garbage in, SignatureError out -----------------------------------------------------

_any_text = any_text(80)
_digits = st.integers(min_value=0, max_value=10**12).map(str)
_b64 = st.binary(max_size=40).map(lambda raw: base64.b64encode(raw).decode())
_hex = st.binary(max_size=40).map(bytes.hex)
_value = st.one_of(
    _any_text,
    _digits,
    _b64,
    st.builds(lambda parts: " ".join(parts), st.lists(
        st.one_of(_b64.map("v1,".__add__), _any_text.map("v1,".__add__), _any_text), max_size=4)),
    st.builds(lambda parts: ",".join(parts), st.lists(
        st.one_of(_digits.map("t=".__add__), _hex.map("v1=".__add__),
                  _any_text.map("v1=".__add__), _any_text.map("t=".__add__), _any_text), max_size=4)),
    _hex.map("sha256=".__add__),
    _any_text.map("sha256=".__add__),
)
_headers = st.dictionaries(
    st.sampled_from(sorted({name for names in REQUIRED.values() for name in names}
                           | {"X-GitHub-Delivery", "x-hub-signature-256", "WEBHOOK-ID"})),
    _value, max_size=6)
_secrets = st.lists(st.one_of(
    _any_text, _b64.map("whsec_".__add__), _any_text.map("whsec_".__add__)), max_size=3)


@settings(max_examples=300, deadline=None, database=None)
@given(scheme=st.sampled_from(SIGNED), body=st.binary(max_size=200), headers=_headers,
       secrets=_secrets, now=st.one_of(st.none(), st.integers(0, 2 * NOW), st.floats(0, 2 * NOW)))
def test_garbage_never_raises_anything_but_signature_error(scheme, body, headers, secrets, now):
    try:
        assert verify(scheme, body, headers, secrets, now=now) is None
    except SignatureError as error:
        assert error.reason in {"missing signature header", "no signature matched",
                                "timestamp outside tolerance", "malformed signature header"}


@settings(max_examples=200, deadline=None, database=None)
@given(scheme=st.sampled_from(SIGNED), body=st.binary(max_size=500),
       msg_id=st.text(min_size=1, max_size=40).filter(str.strip), timestamp=st.integers(0, 10**11))
def test_any_body_round_trips(scheme, body, msg_id, timestamp):
    secret = SECRETS[scheme][0]
    headers = sign(scheme, body, secret, msg_id=msg_id, timestamp=timestamp)
    assert verify(scheme, body, headers, [SECRETS[scheme][1], secret], now=timestamp) is None


@pytest.mark.parametrize("body", BODIES[:3], ids=["empty", "json", "unicode"])
def test_standard_agrees_with_the_standardwebhooks_package(body):
    from datetime import datetime, timezone

    from standardwebhooks import Webhook

    secret = SECRETS["standard"][0]
    ours = sign("standard", body, secret, msg_id="msg_x", timestamp=NOW)["webhook-signature"]
    theirs = Webhook(secret).sign("msg_x", datetime.fromtimestamp(NOW, tz=timezone.utc), body.decode())
    assert ours == theirs
