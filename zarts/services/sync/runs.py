"""Sync runs and their lease: at most one run per connection, across processes and hosts.

A run holds its connection while its open_key (unique) equals the connection id. It is taken
when the run is created (queued), claimed with a token when a worker starts it, and extended
after every page and before every wait. A run whose worker died keeps the key until its lease
expires; the next start marks it abandoned and takes over, resuming from the saved cursor.
"""
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import OPEN_SYNC_STATUSES, Connection, Provider, SyncRun, utcnow
from .. import DomainError
from . import settings

QUEUED_SECONDS = 600  # a queued run no worker has started by then gives the connection up
LEASE_SECONDS = 120  # plus the longest wait a run may sleep through (see lease_seconds)
LIST_LIMIT = 50


class AlreadyRunning(DomainError):
    """Another run holds the connection."""


def lease_seconds(config):
    """Long enough to cover one request and the longest wait between two heartbeats."""
    longest_wait = max(config["retry_after_cap_seconds"], config["backoff_cap_seconds"])
    return int(LEASE_SECONDS + longest_wait + 2 * config["timeout_seconds"])


def start(connection, mode, actor=None, now=None):
    """Create a queued run holding the connection; AlreadyRunning when another run holds it. Commits."""
    now = now or utcnow()
    expire(connection.id, now)
    run = SyncRun(connection_id=connection.id, mode=mode, status="queued", open_key=connection.id,
                  lease_expires_at=now + timedelta(seconds=QUEUED_SECONDS), actor_id=getattr(actor, "id", None),
                  cursor_before=None if mode == "test" else connection.sync_cursor, counts={}, created_at=now)
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        holder = db.session.scalar(select(SyncRun.id).where(SyncRun.open_key == connection.id))
        raise AlreadyRunning(f"a sync of this connection is already running (run #{holder})") from None
    return run


def expire(connection_id, now=None):
    """Mark a run whose lease ran out (its worker died, or none started it) abandoned. Commits."""
    now = now or utcnow()
    table = SyncRun.__table__
    db.session.execute(update(table).where(
        table.c.open_key == connection_id, table.c.lease_expires_at < now,
    ).values(status="abandoned", open_key=None, finished_at=now, error_kind="abandoned",
             error="the run stopped without finishing (its worker died or never started it); "
                   "the next run resumes from the saved cursor"))
    db.session.commit()


def claim(run_id, seconds, now=None):
    """Start a queued run: returns its lease token, or None when it is gone or taken. Commits."""
    now, token = now or utcnow(), uuid.uuid4().hex
    table = SyncRun.__table__
    claimed = db.session.execute(update(table).where(
        table.c.id == run_id, table.c.status == "queued", table.c.open_key.is_not(None),
        table.c.lease_expires_at >= now,
    ).values(status="running", lease_token=token, started_at=now,
             lease_expires_at=now + timedelta(seconds=seconds))).rowcount
    db.session.commit()
    return token if claimed == 1 else None


def extend(run_id, token, seconds, values=None, now=None):
    """Extend the lease (and store `values` on the run) if this token still holds it; True if so.

    Runs in the caller's transaction, so a page's events commit only with a lease that held.
    """
    now = now or utcnow()
    table = SyncRun.__table__
    return db.session.execute(update(table).where(
        table.c.id == run_id, table.c.lease_token == token, table.c.status == "running",
    ).values(lease_expires_at=now + timedelta(seconds=seconds), **(values or {}))).rowcount == 1


def finish(run_id, token, status, values=None, now=None):
    """End a run and free its connection (if this token still holds it). Commits."""
    now = now or utcnow()
    table = SyncRun.__table__
    done = db.session.execute(update(table).where(
        table.c.id == run_id, table.c.lease_token == token, table.c.status == "running",
    ).values(status=status, open_key=None, finished_at=now, lease_expires_at=None, **(values or {}))).rowcount
    db.session.commit()
    return done == 1


def recent(connection_id, before_id=None, limit=LIST_LIMIT):
    """A connection's runs, newest first (keyset by id)."""
    query = select(SyncRun).where(SyncRun.connection_id == connection_id).order_by(SyncRun.id.desc()).limit(limit)
    if before_id:
        query = query.where(SyncRun.id < before_id)
    return list(db.session.scalars(query))


def due(now=None):
    """Active sync connections whose next scheduled run is due: schedule elapsed since the last
    run started, the source's Retry-After respected, and no run holding the connection."""
    now = now or utcnow()
    connections = list(db.session.scalars(
        select(Connection).join(Provider, Provider.id == Connection.provider_id)
        .where(Provider.kind == "sync", Connection.lifecycle == "active").order_by(Connection.id)))
    if not connections:
        return []
    runs = SyncRun.__table__.c
    latest_ids = (select(func.max(runs.id)).where(runs.connection_id.in_([c.id for c in connections]),
                                                  runs.mode != "test").group_by(runs.connection_id))
    latest = {r.connection_id: r for r in db.session.scalars(select(SyncRun).where(SyncRun.id.in_(latest_ids)))}
    found = []
    for connection in connections:
        run = latest.get(connection.id)
        if run is None:
            found.append(connection)
            continue
        if run.status in OPEN_SYNC_STATUSES:
            if run.lease_expires_at is None or run.lease_expires_at < now:
                found.append(connection)  # its worker died: resume from the saved cursor now
            continue
        began = run.started_at or run.created_at
        if began + timedelta(seconds=settings.schedule_seconds(connection)) > now:
            continue
        if run.retry_at is not None and run.retry_at > now:
            continue
        found.append(connection)
    return found


def run_dict(run):
    """The scripting view of a run: its counters and, where known, normalization outcomes."""
    counts = run.counts or {}
    return {
        "run_id": run.id, "connection_id": run.connection_id, "mode": run.mode, "status": run.status,
        "pages": run.pages, "fetched": run.fetched, "stored": run.stored, "duplicate": run.duplicate,
        "skipped": run.skipped, "throttled": run.throttled, "retried": run.retried,
        "created": counts.get("created", 0), "updated": counts.get("updated", 0),
        "unchanged": counts.get("unchanged", 0) + counts.get("stale", 0),
        "failed": counts.get("failed", 0) + counts.get("dead_lettered", 0), "ignored": counts.get("ignored", 0),
        "more_pages": bool(counts.get("more_pages")), "cursor_before": run.cursor_before,
        "cursor_after": run.cursor_after, "error": run.error, "error_kind": run.error_kind,
        "started_at": run.started_at, "finished_at": run.finished_at,
    }
