"""Keyset pagination and time filters shared by the admin lists (newest first, never OFFSET).

A cursor names the last row shown as "<microseconds since epoch>_<id>"; the next page is every
row strictly before it in (time desc, id desc) order, which an index on (time, id) serves.
"""
import re
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import and_, or_

from .. import DomainError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CURSOR = re.compile(r"([0-9]{1,17})_([0-9]{1,19})")
MIN_YEAR, MAX_YEAR = 1970, 9998


def encode(when, row_id):
    """The cursor for a row: exact to the microsecond, URL-safe."""
    return f"{(when - EPOCH) // timedelta(microseconds=1)}_{row_id}"


def decode(cursor):
    """(time, id) from a cursor; a DomainError when it was not made by encode()."""
    match = _CURSOR.fullmatch(cursor or "")
    if not match:
        raise DomainError("the 'load more' link is not valid; start again from the first page")
    return EPOCH + timedelta(microseconds=int(match.group(1))), int(match.group(2))


def before(time_column, id_column, cursor):
    """Rows after `cursor` in (time desc, id desc) order; the leading <= keeps an index range."""
    when, row_id = decode(cursor)
    return and_(time_column <= when, or_(time_column < when, id_column < row_id))


def page(session, query, time_column, id_column, cursor=None, limit=50):
    """(rows, next cursor or None): one page of `query`, newest first, from `cursor` on."""
    if cursor:
        query = query.where(before(time_column, id_column, cursor))
    query = query.order_by(time_column.desc(), id_column.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode(getattr(last, time_column.key), getattr(last, id_column.key))


def parse_time(text, label, end=False):
    """An aware UTC datetime from "YYYY-MM-DD" or an ISO date-time (no zone means UTC).

    With end=True a bare date means the end of that day, so "to 2026-01-31" includes the 31st.
    """
    text = (text or "").strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            value = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            value += timedelta(days=1) if end else timedelta()
        else:
            value = datetime.fromisoformat(text)
    except ValueError:
        raise DomainError(f"{label}: '{text[:40]}' is not a date (YYYY-MM-DD) or date and time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise DomainError(f"{label}: the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value.astimezone(timezone.utc)
