"""Connection secrets: generated per scheme or pasted from the provider, encrypted at rest with Fernet."""
import base64
import secrets as _random
import unicodedata

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from .. import DomainError

MAX_PASTED = 500


def _fernet():
    return Fernet(current_app.config["ZARTS_SECRETS_KEY"].encode())


def encrypt(secret):
    """Encrypt a secret string for storage."""
    return _fernet().encrypt(secret.encode())


def decrypt(token):
    """Decrypt a stored secret; None when the key cannot read it (wrong or rotated key)."""
    if not token:
        return None
    try:
        return _fernet().decrypt(bytes(token)).decode()
    except InvalidToken:
        return None


def generate(scheme):
    """A new signing secret in the form the scheme's providers use."""
    raw = _random.token_bytes(24)
    if scheme == "standard":
        return "whsec_" + base64.b64encode(raw).decode()
    if scheme == "stripe":
        return "whsec_" + _random.token_urlsafe(24)
    return _random.token_urlsafe(32)


def check(scheme, text):
    """A secret the provider issued, as an admin pasted it, cleaned; DomainError saying what is wrong.

    Standard Webhooks secrets are `whsec_` + base64 of 24-64 bytes (as Svix-based senders show
    them); Stripe endpoint secrets, Shopify app secrets and GitHub webhook secrets only need to
    be one line without spaces.
    """
    secret = (text or "").strip()
    if not secret:
        raise DomainError("paste the signing secret the provider shows you")
    if len(secret) > MAX_PASTED or any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cs") for ch in secret):
        raise DomainError(f"a signing secret is one line of at most {MAX_PASTED} characters, without spaces")
    if scheme == "standard":
        if not secret.startswith("whsec_"):
            raise DomainError("a Standard Webhooks secret starts with whsec_ (copy the whole value the sender shows)")
        try:
            key = base64.b64decode(secret[len("whsec_"):], validate=True)
        except ValueError:
            raise DomainError("the part after whsec_ is not valid base64: copy the whole secret again") from None
        if not 24 <= len(key) <= 64:
            raise DomainError(f"the part after whsec_ decodes to {len(key)} bytes; a Standard Webhooks secret has 24 to 64")
    return secret
