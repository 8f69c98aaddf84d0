"""A newly issued secret, carried from the POST that issued it to the one page that shows it.

Post/redirect/get: the POST keeps the secret encrypted (Fernet, the secrets-at-rest key) in the
session and redirects to the connection's own URL; that page takes it out as it renders, so a
reload, the back button or a second tab never shows it again.
"""
from flask import session

from ..services.ingest import secrets

KEY = "reveal"


def hold(connection_id, secret, created=False):
    """Keep secret for the next rendering of this connection's page."""
    session[KEY] = {"connection_id": connection_id, "secret": secrets.encrypt(secret).decode(), "created": created}


def take(connection_id):
    """(secret, created) held for this connection, removed from the session; (None, False) otherwise."""
    held = session.get(KEY)
    if not held or held.get("connection_id") != connection_id:
        return None, False
    session.pop(KEY)
    return secrets.decrypt(held["secret"].encode()), bool(held.get("created"))
