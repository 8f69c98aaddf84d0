"""Webhook signature schemes: verify what providers send and sign what tests and demos send.

Every comparison is constant-time, and any garbage in the headers ends in SignatureError,
never another exception, so the webhook endpoint can answer 401 and not 5xx.
"""
import base64
import hashlib
import hmac
import re
import time
import uuid

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

TOLERANCE_SECONDS = 300
SCHEMES = ("none", "standard", "stripe", "github", "shopify")

MISSING = "missing signature header"
MALFORMED = "malformed signature header"
NO_MATCH = "no signature matched"
STALE = "timestamp outside tolerance"

# Plain ASCII digits only: str.isdigit() accepts "²" and Arabic-Indic digits, and int() refuses
# strings over 4300 digits, so both are ruled out before anything is parsed.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


class SignatureError(Exception):
    """A delivery's signature is missing, wrong or outside the timestamp tolerance."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def verify(scheme: str, body: bytes, headers, secrets: list[str], now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> None:
    """Check a delivery's signature against any of secrets; raise SignatureError if it fails.

    headers may be werkzeug Headers or a plain dict (names are matched case-insensitively).
    secrets lists the current secret first, then the previous one during a rotation.
    """
    check = Verifier(scheme, headers, secrets)
    check.update(bytes(body))
    check.verify(now, tolerance)


class Verifier:
    """A signature checked over a body read in pieces (a large CSV file is never held whole).

    The headers are parsed at once, so a missing or malformed signature fails before any body is read.
    """

    def __init__(self, scheme: str, headers, secrets: list[str]):
        if scheme not in SCHEMES:
            raise ValueError(f"unknown signature scheme: {scheme!r}")
        self.scheme, self.macs = scheme, []
        if scheme == "none":
            return
        prefix, self.candidates, self.timestamp = _PARSERS[scheme](headers)
        for secret in secrets:
            key = _key(scheme, secret)
            if key is not None:
                self.macs.append(hmac.new(key, prefix, hashlib.sha256))

    def update(self, chunk: bytes) -> None:
        for mac in self.macs:
            mac.update(chunk)

    def verify(self, now: float | None = None, tolerance: int = TOLERANCE_SECONDS) -> None:
        if self.scheme == "none":
            return
        matched = False
        for mac in self.macs:
            expected = mac.digest()
            for candidate in self.candidates:
                matched |= hmac.compare_digest(expected, candidate)
        if not matched:
            raise SignatureError(NO_MATCH)
        # Checked after the signature, so "outside tolerance" is only ever said of a genuine delivery.
        if self.timestamp is not None:
            now = time.time() if now is None else now
            if not abs(now - self.timestamp) <= tolerance:  # written so that a NaN clock fails too
                raise SignatureError(STALE)


def sign(scheme: str, body: bytes, secret: str, *, msg_id: str | None = None,
         timestamp: int | None = None) -> dict[str, str]:
    """Return the headers a provider using scheme would send with body, signed with secret."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown signature scheme: {scheme!r}")
    if scheme == "none":
        return {}
    msg_id = str(uuid.uuid4()) if msg_id is None else msg_id
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    body = bytes(body)
    if scheme == "standard":
        key = _key(scheme, secret)
        if key is None:
            raise ValueError("a standard secret must be whsec_ followed by base64")
        digest = _hmac(key, msg_id.encode() + b"." + ts.encode() + b"." + body)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        }
    digest = _hmac(secret.encode(), ts.encode() + b"." + body if scheme == "stripe" else body)
    if scheme == "stripe":
        return {"Stripe-Signature": f"t={ts},v1={digest.hex()}"}
    if scheme == "github":
        return {"X-Hub-Signature-256": "sha256=" + digest.hex(), "X-GitHub-Delivery": msg_id}
    return {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Webhook-Id": msg_id}


def _hmac(key, message):
    """HMAC-SHA256 digest, the one primitive every scheme shares."""
    return hmac.new(key, message, hashlib.sha256).digest()


def _key(scheme, secret):
    """The HMAC key for a secret, or None when the secret cannot be used (so it never matches)."""
    if not isinstance(secret, str) or not secret:
        return None
    if scheme != "standard":
        try:
            return secret.encode()
        except UnicodeError:  # a lone surrogate: no provider could have signed with it
            return None
    try:
        # standardwebhooks decodes whsec_ secrets (padding and all); it keeps the result private.
        return Webhook(secret)._whsecret
    except (ValueError, EmptyWebhookSecretError):  # binascii.Error is a ValueError
        return None


def _header(headers, name):
    """A header's first value, unstripped, looked up case-insensitively in Headers or a dict."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items()
                      if isinstance(k, str) and k.lower() == lowered), None)
    if value is not None and not isinstance(value, str):
        raise SignatureError(MALFORMED)
    if not value or not value.strip():
        raise SignatureError(MISSING)
    return value


def _timestamp(text):
    if not _TIMESTAMP.fullmatch(text):
        raise SignatureError(MALFORMED)
    return int(text)


def _unbase64(text):
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or a plain ValueError for non-ASCII text
        raise SignatureError(MALFORMED) from None


def _unhex(text):
    if not _HEX.fullmatch(text):
        raise SignatureError(MALFORMED)
    return bytes.fromhex(text)


def _encode(text):
    try:
        return text.encode()
    except UnicodeError:  # lone surrogates from a plain dict caller
        raise SignatureError(MALFORMED) from None


def _parse_standard(headers):
    msg_id = _header(headers, "webhook-id")
    ts = _header(headers, "webhook-timestamp").strip()
    signature = _header(headers, "webhook-signature")
    timestamp = _timestamp(ts)
    candidates = []
    for entry in signature.split():
        version, comma, value = entry.partition(",")
        if not comma:
            raise SignatureError(MALFORMED)
        if version == "v1":  # other versions (v1a, asymmetric) are not ours to check
            candidates.append(_unbase64(value))
    return _encode(msg_id) + b"." + ts.encode() + b".", candidates, timestamp


def _parse_stripe(headers):
    ts, candidates = None, []
    for item in _header(headers, "Stripe-Signature").split(","):
        key, equals, value = item.strip().partition("=")
        if not equals:
            raise SignatureError(MALFORMED)
        if key == "t":
            if ts is not None:
                raise SignatureError(MALFORMED)
            ts = value
        elif key == "v1":  # v0 and any future schemes are ignored
            candidates.append(_unhex(value))
    if ts is None:
        raise SignatureError(MALFORMED)
    timestamp = _timestamp(ts)
    return ts.encode() + b".", candidates, timestamp


def _parse_github(headers):
    prefix, equals, value = _header(headers, "X-Hub-Signature-256").strip().partition("=")
    if prefix != "sha256" or not equals:
        raise SignatureError(MALFORMED)
    return b"", [_unhex(value)], None


def _parse_shopify(headers):
    return b"", [_unbase64(_header(headers, "X-Shopify-Hmac-Sha256").strip())], None


_PARSERS = {
    "standard": _parse_standard,
    "stripe": _parse_stripe,
    "github": _parse_github,
    "shopify": _parse_shopify,
}
