"""Per-minute counters of rejected deliveries and provider throttling, for the health check.

connection.rejection_count is cumulative; health needs "how many in the last N minutes". One
row per (connection, kind, minute), bumped with an atomic upsert, answers that with an indexed
SUM, stays small during a flood (a 401 storm is one row a minute) and never holds a request body.
"""
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ...extensions import db
from ...models import REJECTIONS_KEPT, SIGNAL_KINDS, HealthSignal, RejectedDelivery, utcnow

KEEP_DAYS = 7


def bump(connection_id, kind, now=None, by=1):
    """Add `by` to this minute's counter, in the current transaction (the caller commits)."""
    now = now or utcnow()
    table = HealthSignal.__table__
    values = {"connection_id": connection_id, "kind": kind, "bucket_at": now.replace(second=0, microsecond=0),
              "hits": by}
    dialect = db.session.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        statement = mysql_insert(table).values(**values).on_duplicate_key_update(hits=table.c.hits + by)
    else:
        statement = sqlite_insert(table).values(**values).on_conflict_do_update(
            index_elements=["connection_id", "kind", "bucket_at"], set_={"hits": table.c.hits + by})
    db.session.execute(statement)


def remember_rejection(connection_id, number, status, reason, now):
    """Keep the connection's `number`-th rejection in its ring of the last REJECTIONS_KEPT (the caller commits)."""
    table = RejectedDelivery.__table__
    values = {"rejected_at": now, "status": status, "reason": reason[:255]}
    row = {"connection_id": connection_id, "slot": number % REJECTIONS_KEPT, **values}
    if db.session.get_bind().dialect.name in ("mysql", "mariadb"):
        statement = mysql_insert(table).values(**row).on_duplicate_key_update(**values)
    else:
        statement = sqlite_insert(table).values(**row).on_conflict_do_update(
            index_elements=["connection_id", "slot"], set_=values)
    db.session.execute(statement)


def last_rejections(connection_id):
    """The connection's last refused deliveries, newest first: (rejected_at, status, reason)."""
    table = RejectedDelivery.__table__.c
    return list(db.session.execute(select(table.rejected_at, table.status, table.reason)
                                   .where(table.connection_id == connection_id)
                                   .order_by(table.rejected_at.desc(), table.id.desc())))


def recent(connection_ids, since):
    """{connection_id: [(kind, bucket_at, hits), ...]} for buckets starting at or after `since`'s minute."""
    found = {}
    if not connection_ids:
        return found
    signals = HealthSignal.__table__.c
    query = (select(signals.connection_id, signals.kind, signals.bucket_at, signals.hits)
             .where(signals.connection_id.in_(list(connection_ids)), signals.kind.in_(SIGNAL_KINDS),
                    signals.bucket_at >= _minute(since)))  # every kind named: the unique index serves it
    for connection_id, kind, bucket_at, hits in db.session.execute(query):
        found.setdefault(connection_id, []).append((kind, bucket_at, int(hits or 0)))
    return found


def total(rows, kinds, since):
    """Hits of these kinds in `rows` (from recent()) whose minute starts at or after since's minute."""
    start = _minute(since)
    return sum(hits for kind, bucket_at, hits in rows if kind in kinds and bucket_at >= start)


def prune(now=None, keep_days=KEEP_DAYS):
    """Delete counters older than keep_days; returns how many rows went."""
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    table = HealthSignal.__table__
    return db.session.execute(table.delete().where(table.c.bucket_at < cutoff)).rowcount


def _minute(moment):
    return moment.replace(second=0, microsecond=0)
