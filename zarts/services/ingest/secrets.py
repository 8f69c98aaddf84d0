"""Connection secrets: generated per scheme, encrypted at rest with Fernet."""
import base64
import secrets as _random

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


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
