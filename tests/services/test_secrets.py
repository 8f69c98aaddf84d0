"""Connection secrets: encrypted at rest, readable only with the right key, right form per scheme."""
import base64
import binascii
import re
from datetime import datetime, timezone

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from tests.factories import make_connection
from zarts.extensions import db
from zarts.services.ingest import secrets

PROVIDERS = ["standard_webhooks", "stripe", "shopify", "github"]
URLSAFE = re.compile(r"[A-Za-z0-9_-]+")


def _raw_row(connection_id):
    """The connection's row exactly as the database holds it, bypassing the ORM."""
    row = db.session.execute(
        text("SELECT * FROM connections WHERE id = :id"), {"id": connection_id}
    ).mappings().one()
    return dict(row)


def _as_bytes(value):
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode()


@pytest.mark.parametrize("provider_key", PROVIDERS)
def test_secret_is_not_stored_in_plaintext(app, provider_key):
    connection, secret = make_connection(provider_key)
    row = _raw_row(connection.id)
    stored = _as_bytes(row["secret_encrypted"])
    forms = {
        "plaintext": secret.encode(),
        "base64": base64.b64encode(secret.encode()),
        "urlsafe base64": base64.urlsafe_b64encode(secret.encode()),
        "hex": secret.encode().hex().encode(),
    }
    if secret.startswith("whsec_"):
        forms["secret body"] = secret.removeprefix("whsec_").encode()
    for name, form in forms.items():
        assert form not in stored, f"secret_encrypted holds the secret's {name}"
        for column, value in row.items():
            assert form not in _as_bytes(value), f"column {column} holds the secret's {name}"


@pytest.mark.parametrize("provider_key", PROVIDERS)
def test_decrypt_returns_the_secret(app, provider_key):
    connection, secret = make_connection(provider_key)
    stored = _raw_row(connection.id)["secret_encrypted"]
    assert secrets.decrypt(stored) == secret
    db.session.expire_all()
    assert secrets.decrypt(db.session.get(type(connection), connection.id).secret_encrypted) == secret


def test_each_connection_gets_its_own_secret(app):
    _, first = make_connection("standard_webhooks")
    _, second = make_connection("standard_webhooks")
    assert first != second


def test_encryption_is_randomised(app):
    assert secrets.encrypt("same") != secrets.encrypt("same")


def test_decrypt_with_another_key_returns_none(app, monkeypatch):
    connection, secret = make_connection("stripe")
    stored = _raw_row(connection.id)["secret_encrypted"]
    monkeypatch.setitem(app.config, "ZARTS_SECRETS_KEY", Fernet.generate_key().decode())
    assert secrets.decrypt(stored) is None


@pytest.mark.parametrize("token", [None, b"", b"not-a-fernet-token"])
def test_decrypt_of_garbage_returns_none(app, token):
    assert secrets.decrypt(token) is None


def test_standard_secret_is_whsec_and_base64_of_24_bytes(app):
    secret = secrets.generate("standard")
    assert secret.startswith("whsec_")
    try:
        raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        pytest.fail(f"not base64 after whsec_: {secret}")
    assert len(raw) == 24


def test_standard_secret_is_usable_by_the_standardwebhooks_library(app):
    secret = secrets.generate("standard")
    hook = Webhook(secret)
    now = datetime.now(timezone.utc)
    signature = hook.sign("msg_1", now, '{"ok": true}')
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
    assert hook.verify('{"ok": true}', headers) == {"ok": True}


def test_stripe_secret_looks_like_stripes(app):
    secret = secrets.generate("stripe")
    assert secret.startswith("whsec_")
    assert URLSAFE.fullmatch(secret.removeprefix("whsec_"))
    assert len(secret) >= 6 + 32


@pytest.mark.parametrize("scheme", ["github", "shopify", "none"])
def test_shared_secret_schemes_get_long_urlsafe_strings(app, scheme):
    secret = secrets.generate(scheme)
    assert URLSAFE.fullmatch(secret)
    assert len(secret) >= 40  # 32 random bytes


@pytest.mark.parametrize("scheme", ["standard", "stripe", "github", "shopify"])
def test_generated_secrets_do_not_repeat(app, scheme):
    assert len({secrets.generate(scheme) for _ in range(20)}) == 20
