"""What the webhook endpoint needs to know about a connection, cached briefly per process.

The cache only saves a database round trip per delivery; correctness never depends on it:
a failed signature check re-reads the connection before answering 401 (so a rotated secret
works at once), and a lifecycle change (pause, disconnect) is seen within CACHE_SECONDS.
"""
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from cachetools import TTLCache
from flask import current_app

from ...extensions import db
from ...models import Connection, Provider, utcnow
from ...providers import definition
from . import secrets

CACHE_SECONDS = 5.0
CACHE_SIZE = 2048
_MISSING = object()


@dataclass(frozen=True)
class IngestTarget:
    """A connection as the receiving endpoint sees it."""

    connection_id: int
    client_id: int
    provider_key: str
    connection_key: str
    kind: str  # webhook, or csv (a CSV connection takes signed files and completion events)
    scheme: str
    lifecycle: str
    secret: str | None
    previous_secret: str | None = None
    previous_expires_at: datetime | None = None
    event_type_rule: dict = field(default_factory=dict)
    dedupe_rule: dict = field(default_factory=dict)
    object_id_paths: tuple = ()
    rate_limit_per_minute: int | None = None
    test_marker: dict = field(default_factory=dict)  # how the provider marks a test delivery

    def valid_secrets(self):
        """The current secret, then the previous one while its rotation overlap lasts."""
        keys = [self.secret]
        if self.previous_secret and self.previous_expires_at and self.previous_expires_at > utcnow():
            keys.append(self.previous_secret)
        return [k for k in keys if k]


def _cache():
    """This app's cache and its lock (TTLCache is not thread-safe on its own)."""
    cache = current_app.extensions.get("zarts_ingest_cache")
    if cache is None:
        cache = current_app.extensions.setdefault(
            "zarts_ingest_cache", (TTLCache(maxsize=CACHE_SIZE, ttl=CACHE_SECONDS, timer=time.monotonic), threading.Lock()))
    return cache


def lookup(provider_key, connection_key, fresh=False):
    """The IngestTarget for these keys, or None when either key is unknown."""
    (cache, lock), key = _cache(), (provider_key, connection_key)
    if not fresh:
        with lock:
            target = cache.get(key, _MISSING)  # an unknown pair is cached too, as None
        if target is not _MISSING:
            return target
    target = _load(provider_key, connection_key)
    with lock:
        cache[key] = target
    return target


def forget_all():
    """Drop every cached entry; called after admin changes to a connection in this process."""
    cache, lock = _cache()
    with lock:
        cache.clear()


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
    if kind not in ("webhook", "csv"):  # pull-sync connections take no deliveries (and have no signature)
        return None
    shipped = definition(provider_key) or {}
    return IngestTarget(
        connection_id=connection.id,
        client_id=connection.client_id,
        provider_key=provider_key,
        connection_key=connection_key,
        kind=kind,
        scheme=scheme,
        lifecycle=connection.lifecycle,
        rate_limit_per_minute=connection.webhook_rate_limit_per_minute,
        secret=secrets.decrypt(connection.secret_encrypted),
        previous_secret=secrets.decrypt(connection.previous_secret_encrypted),
        previous_expires_at=connection.previous_secret_expires_at,
        event_type_rule=shipped.get("event_type", {}),
        dedupe_rule=shipped.get("dedupe", {}),
        object_id_paths=tuple(shipped.get("object_id_paths", ())),
        test_marker=shipped.get("test_marker") or {},
    )
