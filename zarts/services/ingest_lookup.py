"""What the webhook endpoint needs to know about a connection, cached briefly per process.

The cache only saves a database round trip per delivery; correctness never depends on it:
a failed signature check re-reads the connection before answering 401 (so a rotated secret
works at once), and a lifecycle change (pause, disconnect) is seen within CACHE_SECONDS.
"""
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from ..extensions import db
from ..models import Connection, Provider, utcnow
from ..providers import definition
from . import secrets

CACHE_SECONDS = 5.0
CACHE_SIZE = 2048


@dataclass(frozen=True)
class IngestTarget:
    """A connection as the receiving endpoint sees it."""

    connection_id: int
    client_id: int
    provider_key: str
    connection_key: str
    scheme: str
    lifecycle: str
    secret: str | None
    previous_secret: str | None = None
    previous_expires_at: datetime | None = None
    event_type_rule: dict = field(default_factory=dict)
    dedupe_rule: dict = field(default_factory=dict)
    object_id_paths: tuple = ()
    rate_limit_per_minute: int | None = None

    def valid_secrets(self):
        """The current secret, then the previous one while its rotation overlap lasts."""
        keys = [self.secret]
        if self.previous_secret and self.previous_expires_at and self.previous_expires_at > utcnow():
            keys.append(self.previous_secret)
        return [k for k in keys if k]


class _TTLCache:
    """A small LRU with expiry, one per app."""

    def __init__(self):
        self.items = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, now):
        with self.lock:
            hit = self.items.get(key)
            if hit is None or hit[0] <= now:
                return None, False
            self.items.move_to_end(key)
            return hit[1], True

    def put(self, key, value, now):
        with self.lock:
            self.items[key] = (now + CACHE_SECONDS, value)
            self.items.move_to_end(key)
            while len(self.items) > CACHE_SIZE:
                self.items.popitem(last=False)

    def clear(self):
        with self.lock:
            self.items.clear()


def _cache():
    return current_app.extensions.setdefault("zarts_ingest_cache", _TTLCache())


def lookup(provider_key, connection_key, fresh=False):
    """The IngestTarget for these keys, or None when either key is unknown."""
    cache, key, now = _cache(), (provider_key, connection_key), time.monotonic()
    if not fresh:
        target, found = cache.get(key, now)
        if found:
            return target
    target = _load(provider_key, connection_key)
    cache.put(key, target, now)
    return target


def forget_all():
    """Drop every cached entry; called after admin changes to a connection in this process."""
    _cache().clear()


def _load(provider_key, connection_key):
    if len(connection_key) > 64 or len(provider_key) > 64:
        return None
    row = db.session.execute(
        db.select(Connection, Provider.signature_scheme, Provider.kind)
        .join(Provider, Connection.provider_id == Provider.id)
        .where(Provider.key == provider_key, Connection.connection_key == connection_key)
    ).first()
    db.session.rollback()  # end the read transaction: the request's writes start fresh
    if row is None:
        return None
    connection, scheme, kind = row
    if kind != "webhook":  # CSV and pull-sync connections take no deliveries (and have no signature)
        return None
    shipped = definition(provider_key) or {}
    return IngestTarget(
        connection_id=connection.id,
        client_id=connection.client_id,
        provider_key=provider_key,
        connection_key=connection_key,
        scheme=scheme,
        lifecycle=connection.lifecycle,
        rate_limit_per_minute=connection.webhook_rate_limit_per_minute,
        secret=secrets.decrypt(connection.secret_encrypted),
        previous_secret=secrets.decrypt(connection.previous_secret_encrypted),
        previous_expires_at=connection.previous_secret_expires_at,
        event_type_rule=shipped.get("event_type", {}),
        dedupe_rule=shipped.get("dedupe", {}),
        object_id_paths=tuple(shipped.get("object_id_paths", ())),
    )
