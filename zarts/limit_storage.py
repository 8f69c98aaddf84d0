"""A Flask-Limiter storage in the database: the login limits shared by every web process without Redis.

Counted in each process's memory, N gunicorn workers would allow N times the limit. Here every
worker and node counts in rate_limit_counters: one row per key, holding the hits of a fixed
window that starts at its first hit (as the Redis storage counts), bumped with an atomic upsert in
a short transaction of its own, so the count stands whatever the request does next. With
REDIS_URL set the limiter uses Redis instead.
"""
import hashlib
import time
from datetime import datetime, timezone

from limits.storage import Storage
from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import RateLimitCounter

URI = "zarts-db://"
COUNTERS = RateLimitCounter.__table__


class DatabaseStorage(Storage):
    """limits' storage interface (fixed windows) over the current app's database."""

    STORAGE_SCHEME = ["zarts-db"]

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key, expiry, amount=1):
        """Add amount to key's window (a new one of `expiry` seconds once it ended); return its hits."""
        now = time.time()
        digest, cols = _digest(key), COUNTERS.c
        ended = cols.expires_at <= _moment(now)
        fresh_end = literal(_moment(now + expiry), cols.expires_at.type)
        # hits before expires_at: MySQL's ON DUPLICATE KEY UPDATE applies assignments in order.
        changes = [("hits", case((ended, amount), else_=cols.hits + amount)),
                   ("expires_at", case((ended, fresh_end), else_=cols.expires_at))]
        values = {"key_digest": digest, "expires_at": _moment(now + expiry), "hits": amount}
        with db.engine.begin() as conn:
            if conn.dialect.name in ("mysql", "mariadb"):
                upsert = mysql_insert(COUNTERS).values(**values).on_duplicate_key_update(changes)
            else:
                upsert = sqlite_insert(COUNTERS).values(**values).on_conflict_do_update(
                    index_elements=["key_digest"], set_=dict(changes))
            conn.execute(upsert)
            hits = conn.scalar(select(cols.hits).where(cols.key_digest == digest))  # still our row lock
        if hits == amount:  # a window's first hit clears the ended ones: a spray of keys cannot grow the table
            self._prune(now)
        return hits

    def get(self, key):
        """Hits in key's current window (0 when there is none)."""
        row = self._current(key)
        return row.hits if row else 0

    def get_expiry(self, key):
        """When key's current window ends, as a Unix time."""
        row = self._current(key)
        return row.expires_at.timestamp() if row else time.time()

    def check(self):
        """True when the database answers."""
        try:
            with db.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self):
        """Forget every counter; returns how many rows went."""
        with db.engine.begin() as conn:
            return conn.execute(delete(COUNTERS)).rowcount

    def clear(self, key):
        """Forget key's counter."""
        with db.engine.begin() as conn:
            conn.execute(delete(COUNTERS).where(COUNTERS.c.key_digest == _digest(key)))

    def _current(self, key):
        query = select(COUNTERS.c.hits, COUNTERS.c.expires_at).where(
            COUNTERS.c.key_digest == _digest(key), COUNTERS.c.expires_at > _moment(time.time()))
        with db.engine.connect() as conn:
            return conn.execute(query).first()

    def _prune(self, now):
        try:
            with db.engine.begin() as conn:
                conn.execute(delete(COUNTERS).where(COUNTERS.c.expires_at <= _moment(now)))
        except SQLAlchemyError:  # a lock conflict only delays the clean-up to another window
            pass


def _digest(key):
    """Keys are stored hashed: fixed width, and the table holds no address or email."""
    return hashlib.sha256(key.encode()).hexdigest()


def _moment(unix_time):
    return datetime.fromtimestamp(unix_time, timezone.utc)
