"""Durable storage of accepted deliveries, with one commit per group of concurrent requests.

A request that arrives while another request of the same process is writing waits; when the
writer is done, one waiting request (the leader) writes every waiting delivery in a single
transaction and commits once. Each request still answers only after the commit that holds its
rows: persist before ack. A lone request is a group of one, written at once, so grouping never
waits on a timer.

Dedupe stays race-safe: the unique (connection_id, dedupe_key) constraint decides. A losing
insert bumps the original's duplicate count instead of adding a row. MySQL/MariaDB and SQLite roll
back only the failing statement on a constraint error, so a duplicate does not undo its group.
"""
import threading
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from ...db_errors import is_conflict
from ...extensions import db
from ...models import RawEvent, SyncError, WebhookEvent
from . import row_writer, write_lock

EVENTS, RAWS = WebhookEvent.__table__, RawEvent.__table__
# The columns a delivery's rows carry (receipt.store fills them all); an error row is rare and
# goes through an ordinary insert().
EVENT_COLUMNS = ("connection_id", "source", "mode", "dedupe_key", "event_type", "status", "status_reason", "attempts",
                 "payload_summary", "body_sha256", "duplicate_count", "received_at", "processed_at")
RAW_COLUMNS = ("webhook_event_id", "connection_id", "content_type", "headers", "body", "received_at")
ERROR_INSERT = insert(SyncError.__table__)
MAX_GROUP = 64
# Raw bodies sent in one multi-row INSERT, well under MySQL's max_allowed_packet (16 MiB default).
RAW_CHUNK_BYTES = 4 * 1024 * 1024
ATTEMPTS = 3


class GroupFailed(SQLAlchemyError):
    """The transaction this delivery was written in failed; nothing of it was stored."""


@dataclass(eq=False)
class Delivery:
    """The rows of one delivery; event_id and duplicate are filled in once it is committed."""

    event: dict
    raw: dict
    error: dict | None = None
    event_id: int | None = None
    duplicate: bool = False
    done: bool = False
    failure: BaseException | None = None
    alone: bool = False  # its group failed: write it again in a transaction of its own


def store(delivery):
    """Write the delivery's rows and commit; (event_id or None, duplicate). Raises SQLAlchemyError.

    event_id is None for a losing insert whose original cannot be found (e.g. its connection is gone).
    """
    group = current_app.extensions.get("zarts_ingest_group")
    if group is None:
        group = current_app.extensions.setdefault("zarts_ingest_group", _Group())
    group.submit(delivery)
    if delivery.alone:
        _store_alone(delivery)
    if delivery.failure is not None:
        raise delivery.failure
    if delivery.event_id is None and not delivery.duplicate:
        raise GroupFailed("the delivery's group ended without storing it")
    return delivery.event_id, delivery.duplicate


class _Group:
    """Leader/follower group commit; one per app and process.

    While deliveries keep arriving, each leader hands its database connection to the next one, so
    a busy process neither checks a connection out (and pings it) nor resets it per group; the
    last leader of a busy spell gives it back to the pool.
    """

    def __init__(self):
        self.cond = threading.Condition()
        self.pending = []
        self.writing = False
        self.conn = None

    def submit(self, delivery):
        with self.cond:
            self.pending.append(delivery)
            # One writer at a time: a delivery taken into a batch is done by the time `writing`
            # drops, so no delivery is ever written twice.
            while self.writing and not delivery.done:
                self.cond.wait()
            if delivery.done:
                return
            self.writing = True  # this thread leads: it writes its own delivery and those waiting
            others = [d for d in self.pending if d is not delivery]
            batch, self.pending = [delivery, *others[:MAX_GROUP - 1]], others[MAX_GROUP - 1:]
            conn, self.conn = self.conn, None
        kept = None  # the connection, if the write left it usable
        try:
            with write_lock.exclusive(db.engine):
                kept = _write(conn, batch)
        except BaseException as exc:
            # Nothing of the group was kept: no member may answer with an id from it. One member
            # may have been the cause, so each tries again alone and fails, if it must, alone. A
            # leader interrupted by a BaseException (a worker timeout, a kill) goes down with it.
            for d in batch:
                d.event_id, d.duplicate = None, False
                d.alone = len(batch) > 1 and (d is not delivery or isinstance(exc, Exception))
            if not delivery.alone:
                delivery.failure = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            with self.cond:
                self.writing = False
                for d in batch:
                    d.done = True
                if self.pending and kept is not None:
                    self.conn, kept = kept, None  # the next leader goes on with it
                self.cond.notify_all()
            if kept is not None:
                kept.close()


def _store_alone(delivery):
    """Write one delivery in its own transaction (after its group failed); sets its failure if it must."""
    delivery.alone = False
    try:
        with write_lock.exclusive(db.engine):
            _write(None, [delivery]).close()
    except Exception as exc:
        delivery.event_id, delivery.duplicate = None, False
        delivery.failure = exc


def _write(conn, batch):
    """One transaction for the batch, committed; returns the connection for the next group.

    The whole batch is tried again after a deadlock or lock wait timeout (nothing of it was kept).
    """
    for attempt in range(ATTEMPTS):
        if conn is None or conn.closed or conn.invalidated:
            conn = db.engine.connect()
        try:
            _write_once(conn, batch)
            conn.commit()
            return conn
        except OperationalError as exc:
            for d in batch:
                d.event_id, d.duplicate = None, False
            if attempt == ATTEMPTS - 1 or not is_conflict(exc):
                _discard(conn)
                raise
            try:
                conn.rollback()
            except BaseException:
                _discard(conn)
                raise
        except BaseException:
            _discard(conn)
            raise
    raise AssertionError("unreachable")


def _discard(conn):
    """Roll back and give the connection back (the pool replaces it if it is broken)."""
    try:
        conn.rollback()
    except SQLAlchemyError:
        pass
    finally:
        conn.close()


def _write_once(conn, batch):
    for d in _insert_events(conn, batch):
        d.duplicate, d.event_id = True, _count_duplicate(conn, d.event)
    stored = [d for d in batch if not d.duplicate]
    for chunk in _chunks(stored):
        row_writer.insert_many(conn, RAWS, RAW_COLUMNS, [{**d.raw, "webhook_event_id": d.event_id} for d in chunk])
    errors = [{**d.error, "webhook_event_id": d.event_id} for d in stored if d.error]
    if errors:
        conn.execute(ERROR_INSERT, errors)


def _insert_events(conn, batch):
    """Insert the batch's webhook events, setting event_id; returns the losing (duplicate) ones.

    Where the database returns generated ids in row order (MariaDB 10.5+, SQLite 3.35+) the whole
    batch is one statement; otherwise, or when that statement meets a duplicate, one per row.
    """
    if len(batch) > 1 and row_writer.can_return_ids(conn.dialect):
        try:
            ids = row_writer.insert_returning_ids(conn, EVENTS, EVENT_COLUMNS, [d.event for d in batch])
        except IntegrityError:
            conn.rollback()  # the first statement of the transaction: nothing else is undone
        else:
            for d, event_id in zip(batch, ids, strict=True):
                d.event_id = event_id
            return []
    losers = []
    for d in batch:
        try:
            d.event_id = row_writer.insert_one(conn, EVENTS, EVENT_COLUMNS, d.event)
        except IntegrityError:  # only this statement is undone; the transaction goes on
            losers.append(d)
    return losers


def _chunks(deliveries):
    """The deliveries in runs whose raw bodies add up to at most RAW_CHUNK_BYTES (one if larger)."""
    chunk, size = [], 0
    for d in deliveries:
        if chunk and size + len(d.raw["body"]) > RAW_CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(d)
        size += len(d.raw["body"])
    if chunk:
        yield chunk


def _count_duplicate(conn, event):
    table = EVENTS
    match = (table.c.connection_id == event["connection_id"]) & (table.c.dedupe_key == event["dedupe_key"])
    conn.execute(update(table).where(match).values(
        duplicate_count=table.c.duplicate_count + 1, last_duplicate_at=event["received_at"],
    ))
    return conn.scalar(select(table.c.id).where(match))

