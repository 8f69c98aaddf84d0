"""Pull-sync: page through a sync connector's source; each record becomes a raw event.

A page's events, the run's counters and the connection's cursor commit together, and only while
the run's lease holds: after a crash the next run resumes from the last committed page, and a
record read twice is known by its dedupe key (id + updated-at) and not stored again. New events
go to the same normalization as webhooks (queued, or right here for the CLI).
"""
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import jmespath
from flask import current_app
from sqlalchemy import select, update

from ... import dispatch
from ...extensions import db
from ...models import Connection, RawEvent, SyncError, SyncRun, WebhookEvent, utcnow
from ..health import checks, signals
from ..ingest import receipt, secrets, summaries
from ..ingest.handoff import hand_over
from ..notify import alerts
from ..pipeline import normalize
from . import runs, settings
from .source import Source, SourceError

PERMANENT = ("auth", "config")


class LeaseLost(Exception):
    """Another run took the connection over (this one's lease had expired); stop quietly."""


@dataclass
class Progress:
    """A run's counters, written to its row with every page."""

    pages: int = 0
    fetched: int = 0
    stored: int = 0
    duplicate: int = 0
    skipped: int = 0
    throttled: int = 0
    retried: int = 0
    counts: dict = field(default_factory=dict)
    cursor_after: str | None = None

    def values(self):
        return asdict(self)


def run_now(connection, actor=None):
    """Run one sync here and now (the CLI); returns the finished run. AlreadyRunning if one holds it."""
    run = runs.start(connection, "manual", actor)
    return execute(run.id, inline=True)


def schedule(now=None):
    """Start a run for each active sync connection that is due and hand it to a worker; run ids."""
    started = []
    for connection in runs.due(now):
        try:
            run = runs.start(connection, "scheduled", now=now)
        except runs.AlreadyRunning:
            continue
        started.append(run.id)
        dispatch.submit("run_sync", run.id)
    return started


def execute(run_id, inline=False):
    """Claim a queued run and page through the source; returns the run. Safe to call twice."""
    run = db.session.get(SyncRun, run_id)
    if run is None:
        return None
    connection = run.connection
    try:
        config, problem = settings.effective(connection), None
    except settings.ConfigProblem as exc:
        config, problem = {**settings.BUILT_IN}, exc
    seconds = runs.lease_seconds(config)
    token = runs.claim(run_id, seconds)
    if token is None:
        return db.session.get(SyncRun, run_id, populate_existing=True)
    progress = Progress(cursor_after=connection.sync_cursor)
    if run.mode == "scheduled" and connection.lifecycle != "active":  # paused or disconnected since queued
        runs.finish(run_id, token, "failed", {"error_kind": "skipped",
                                                   "error": f"skipped: the connection is {connection.lifecycle}"})
        return db.session.get(SyncRun, run_id, populate_existing=True)
    try:
        credential = secrets.decrypt(connection.secret_encrypted)
        if problem is not None:
            raise SourceError("config", str(problem))
        if credential is None:
            raise SourceError("config", "the credential cannot be read with the current key: store it again")
        _pages(run, token, seconds, connection, config, credential, progress, inline)
    except LeaseLost:
        db.session.rollback()
        return db.session.get(SyncRun, run_id, populate_existing=True)
    except SourceError as exc:
        db.session.rollback()
        _failed(run, token, progress, exc.kind, exc.message, exc.retry_at)
    except Exception as exc:  # a bug of ours: recorded on the run, never a stuck lease
        db.session.rollback()
        current_app.logger.exception("sync run %s failed", run_id)
        _failed(run, token, progress, "internal", f"{type(exc).__name__}: {exc}"[:1000])
    else:
        _succeeded(run, token, progress, connection)
    checks.check([connection.id])
    return db.session.get(SyncRun, run_id, populate_existing=True)


def _pages(run, token, seconds, connection, config, credential, progress, inline):
    deadline = time.monotonic() + config["max_run_seconds"]

    def on_throttle():
        progress.throttled += 1
        signals.bump(connection.id, "throttled")
        _heartbeat(run.id, token, seconds, progress)

    def on_retry(kind, message):
        progress.retried += 1
        db.session.add(SyncError(connection_id=connection.id, stage="sync", error_class=f"{kind}_error",
                                 message=message, attempt=progress.retried, transient=True, created_at=utcnow()))
        _heartbeat(run.id, token, seconds, progress)

    source = Source(config, credential, deadline, on_throttle=on_throttle, on_retry=on_retry)
    cursor = connection.sync_cursor
    for _ in range(config["max_pages"]):
        payload = source.get(params(config, cursor))
        found = records_of(config, payload)
        cursor, more = advance(config, payload, found, cursor)
        ids = _store_page(run, token, seconds, connection, config, found, cursor, progress)
        if ids and inline:
            for key, value in normalize.process(ids).items():
                progress.counts[key] = progress.counts.get(key, 0) + value
        elif ids:
            hand_over(ids)
        if not more:
            return
        if time.monotonic() > deadline:
            break
    progress.counts["more_pages"] = True  # stopped at max_pages / max_run_seconds: the next run goes on


def _heartbeat(run_id, token, seconds, progress):
    if not runs.extend(run_id, token, seconds, progress.values()):
        raise LeaseLost()
    db.session.commit()


def params(config, cursor, page_size=None):
    """Query parameters for the page after `cursor` (None: the first page)."""
    values = {**config["query"], config["page_size_param"]: page_size or config["page_size"]}
    if cursor is not None:
        key = "cursor_param" if config["pagination"] == "cursor" else "since_param"
        values[config[key]] = cursor
    return values


def records_of(config, payload):
    """The page's records (a list), or SourceError(config)."""
    found = _search(config["records_path"], payload)
    if not isinstance(found, list):
        raise SourceError("config", f"records_path '{config['records_path']}' does not give a list of records")
    return found


def advance(config, payload, records, cursor):
    """(cursor to resume from, whether another page follows)."""
    if config["pagination"] == "updated_since":
        newest = cursor
        for record in records:
            newest = _later(newest, _scalar(_search(config["updated_at_path"], record)))
        more = len(records) >= config["page_size"]
        if more and newest == cursor:
            raise SourceError("config", f"a full page of records all updated at {cursor}: raise page_size "
                              "so the sync can move past them")
        return newest, more
    next_cursor = _scalar(_search(config["next_cursor_path"], payload))
    has_more = _search(config["has_more_path"], payload) if config.get("has_more_path") else None
    moved = next_cursor is not None and next_cursor != cursor
    more = moved and (bool(records) if not isinstance(has_more, bool) else has_more)
    return (next_cursor if next_cursor is not None else cursor), more


def dedupe_key(config, record):
    """id + updated-at of a record (hashed when long), or None when it has no usable id."""
    if not isinstance(record, dict):
        return None
    record_id = _search(config["id_path"], record)
    if isinstance(record_id, bool) or not isinstance(record_id, (str, int)) or not str(record_id).strip():
        return None
    updated = _scalar(_search(config["updated_at_path"], record))
    key = f"{record_id}|{updated}" if updated is not None else str(record_id)
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _store_page(run, token, seconds, connection, config, records, cursor, progress):
    """Store a page's new records as events, with the cursor, in one transaction; their ids."""
    now, table = utcnow(), WebhookEvent.__table__
    keyed = [(dedupe_key(config, r), r) for r in records]
    keys = {key for key, _ in keyed if key is not None}
    known = set(db.session.scalars(select(table.c.dedupe_key).where(
        table.c.connection_id == connection.id, table.c.dedupe_key.in_(keys)))) if keys else set()
    events, seen, again = [], set(), []
    sensitive = current_app.config["PAYLOAD_SENSITIVE_KEYS"]
    for key, record in keyed:
        if key is None:
            progress.skipped += 1
        elif key in known or key in seen:
            progress.duplicate += 1
            again += [key] if key in known else []
        else:
            seen.add(key)
            body = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
            event = WebhookEvent(
                connection_id=connection.id, source="sync", mode=receipt.lifecycle_mode(connection.lifecycle),
                dedupe_key=key, event_type=config["event_type"],
                status="received", attempts=0, body_sha256=hashlib.sha256(body).hexdigest(), duplicate_count=0,
                received_at=now, payload_summary=summaries.summarize(
                    record, event_type=config["event_type"], object_id_paths=(config["id_path"],),
                    sensitive_keys=sensitive, body_size=len(body)))
            event.raw_event = RawEvent(connection_id=connection.id, content_type="application/json", body=body,
                                       headers={"X-Zarts-Sync-Run": str(run.id)}, received_at=now)
            db.session.add(event)
            events.append(event)
    if again:
        db.session.execute(update(table).where(table.c.connection_id == connection.id, table.c.dedupe_key.in_(again))
                           .values(duplicate_count=table.c.duplicate_count + 1, last_duplicate_at=now))
    db.session.flush()
    progress.pages, progress.fetched = progress.pages + 1, progress.fetched + len(records)
    progress.stored, progress.cursor_after = progress.stored + len(events), cursor
    if not runs.extend(run.id, token, seconds, progress.values()):
        raise LeaseLost()
    connections = Connection.__table__
    db.session.execute(update(connections).where(connections.c.id == connection.id)
                       .values(sync_cursor=cursor, updated_at=connections.c.updated_at))
    db.session.commit()
    return [event.id for event in events]


def _succeeded(run, token, progress, connection):
    now = utcnow()
    runs.finish(run.id, token, "succeeded", progress.values(), now)
    values = {"last_event_at": now, "updated_at": Connection.__table__.c.updated_at}
    if not progress.stored:  # nothing new to normalize: the data is as fresh as this run
        values["last_success_at"] = now
    db.session.execute(update(Connection.__table__).where(Connection.__table__.c.id == connection.id).values(**values))
    db.session.commit()


def _failed(run, token, progress, kind, message, retry_at=None):
    db.session.add(SyncError(connection_id=run.connection_id, stage="sync", error_class=f"{kind}_error",
                             message=message[:2000], attempt=progress.retried + 1, transient=kind not in PERMANENT,
                             created_at=utcnow()))
    status = "throttled" if kind == "throttled" else "failed"
    if kind == "throttled":
        alerts.sync_throttled(db.session.get(Connection, run.connection_id), message, utcnow())
    runs.finish(run.id, token, status, {**progress.values(), "error": message[:2000], "error_kind": kind,
                                             "retry_at": retry_at})


def _search(path, payload):
    try:
        return jmespath.search(path, payload)
    except (ValueError, TypeError, RecursionError):
        return None


def _scalar(value):
    """A cursor or timestamp as text; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value).strip()
    return text or None


def _later(a, b):
    """The later of two updated-at values (numbers, ISO-8601 times, else text); None loses."""
    if a is None or b is None:
        return a if b is None else b
    for parse in (Decimal, lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))):
        try:
            return b if parse(b) > parse(a) else a
        except (InvalidOperation, ValueError, TypeError):
            continue
    return max(a, b)
