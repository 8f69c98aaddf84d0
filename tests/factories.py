"""Plain factory functions for test data, going through the same services as the app."""
import itertools

from zarts.extensions import db
from zarts.services import accounts, connections

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_client(name=None):
    """A new client with a unique name."""
    client = accounts.create_client(name or f"Client {next(_seq)}")
    db.session.commit()
    return client


def make_user(role="admin", client=None, email=None, password=PASSWORD):
    """A new user; client users get a new client unless one is given."""
    if role == "client" and client is None:
        client = make_client()
    email = email or f"{role}{next(_seq)}@example.com"
    user = accounts.create_user(email, password, role, client.slug if client else None)
    db.session.commit()
    return user


def make_connection(provider_key="stripe", client=None, owner=None, reason="Feeds the revenue card"):
    """A new connection; returns (connection, plaintext secret)."""
    client = client or make_client()
    owner = owner or make_user("admin")
    connection, secret = connections.create_connection(provider_key, client.slug, owner.email, reason)
    db.session.commit()
    return connection, secret
