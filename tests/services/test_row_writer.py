"""row_writer stores exactly what a compiled insert() would, returns ids in row order, wraps errors."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from tests.factories import make_connection
from zarts.extensions import db
from zarts.models import RawEvent, WebhookEvent
from zarts.services.ingest import group_commit, row_writer

EVENTS, RAWS = WebhookEvent.__table__, RawEvent.__table__


def event_row(connection_id, key, **extra):
    when = datetime(2026, 11, 27, 8, 30, 15, 123456, tzinfo=timezone.utc)
    return {"connection_id": connection_id, "source": "webhook", "mode": "live", "dedupe_key": key,
            "event_type": "lead.created",
            "status": "received", "status_reason": None, "attempts": 0,
            "payload_summary": {"keys": [{"key": "naïve ✓", "value": None}], "n": 1.5},
            "body_sha256": "ab" * 32, "duplicate_count": 0, "received_at": when, "processed_at": None, **extra}


@pytest.fixture
def connection_id(app):
    """A committed connection's id; the session starts a new snapshot when it next reads."""
    connection, _ = make_connection("standard_webhooks")
    connection_id = connection.id
    db.session.commit()  # the writes below use their own connection
    return connection_id


def columns_of(row_id):
    row = db.session.execute(select(EVENTS).where(EVENTS.c.id == row_id)).mappings().one()
    return {k: v for k, v in row.items() if k != "id" and k != "dedupe_key"}


def test_rows_read_back_the_same_as_a_compiled_insert(app, connection_id):
    with db.engine.begin() as conn:
        compiled_id = conn.execute(insert(EVENTS).values(event_row(connection_id, "a"))).inserted_primary_key[0]
        fast_id = row_writer.insert_one(conn, EVENTS, group_commit.EVENT_COLUMNS, event_row(connection_id, "b"))
    assert columns_of(fast_id) == columns_of(compiled_id)
    assert columns_of(fast_id)["received_at"] == datetime(2026, 11, 27, 8, 30, 15, 123456, tzinfo=timezone.utc)


def test_multi_row_insert_returns_ids_in_row_order(app, connection_id):
    if not row_writer.can_return_ids(db.engine.dialect):
        pytest.skip("this database does not return ids from a multi-row insert")
    keys = [f"k{i:02d}" for i in range(40)]
    with db.engine.begin() as conn:
        ids = row_writer.insert_returning_ids(conn, EVENTS, group_commit.EVENT_COLUMNS,
                                              [event_row(connection_id, key) for key in keys])
    assert [db.session.get(WebhookEvent, i).dedupe_key for i in ids] == keys


def test_executemany_stores_every_body_byte_for_byte(app, connection_id):
    bodies = [bytes(range(256)) * 3, b"", "\u00e9\\'\"%s?".encode(), b"\x00" * 10]
    now = datetime.now(timezone.utc)
    with db.engine.begin() as conn:
        ids = [row_writer.insert_one(conn, EVENTS, group_commit.EVENT_COLUMNS, event_row(connection_id, f"r{i}"))
               for i in range(len(bodies))]
        row_writer.insert_many(conn, RAWS, group_commit.RAW_COLUMNS, [
            {"webhook_event_id": i, "connection_id": connection_id, "content_type": "application/json",
             "headers": {"x-a": "1"}, "body": body, "received_at": now} for i, body in zip(ids, bodies)])
    stored = {raw.webhook_event_id: bytes(raw.body) for raw in db.session.scalars(select(RawEvent))}
    assert stored == dict(zip(ids, bodies))


def test_a_duplicate_raises_sqlalchemys_integrity_error(app, connection_id):
    with db.engine.begin() as conn:
        row_writer.insert_one(conn, EVENTS, group_commit.EVENT_COLUMNS, event_row(connection_id, "same"))
        with pytest.raises(IntegrityError):
            row_writer.insert_one(conn, EVENTS, group_commit.EVENT_COLUMNS, event_row(connection_id, "same"))
