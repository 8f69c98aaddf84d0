"""The event explorer: query arguments -> validated filters -> keyset pages of webhook events.

Every filter lives in the URL, so a filtered view is a link an admin can share. Filters are
validated before any query runs; an invalid value is reported, never guessed around.
"""
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import false, func, select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import EVENT_STATUSES, Client, Connection, NormalizedEvent, Provider, WebhookEvent
from .. import DomainError
from . import keyset

PAGE_SIZE = 50
SEARCH_LIMIT = 1000  # events one search term may match (an external id updated very often)
MAX_TEXT = 255
ARG_NAMES = ("client", "provider", "connection", "status", "type", "from", "to", "q")
_EVENT_ID = re.compile(r"#?([0-9]{1,18})")


@dataclass
class Filters:
    """Validated explorer filters; `args` holds them as query arguments for links."""

    client_id: int | None = None
    provider_key: str | None = None
    connection_id: int | None = None
    status: str | None = None
    event_type: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""
    args: dict = field(default_factory=dict)


def parse_filters(args):
    """(Filters, errors) from query arguments; with errors, the caller must not query."""
    filters, errors = Filters(), []
    raw = {name: (args.get(name) or "").strip() for name in ARG_NAMES}
    for name, parse in _PARSERS:
        if raw[name]:
            try:
                parse(filters, raw[name])
            except DomainError as exc:
                errors.append(str(exc))
                continue
            filters.args[name] = raw[name]
    if filters.since and filters.until and filters.since >= filters.until:
        errors.append("from: must be before 'to'")
    return filters, errors


def _existing(model, value, label):
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise DomainError(f"{label}: '{value[:40]}' is not an id")
    if db.session.get(model, int(value)) is None:
        raise DomainError(f"{label}: there is no {label} with id {value}")
    return int(value)


def _provider(filters, value):
    if db.session.scalar(select(Provider.id).where(Provider.key == value[:64])) is None:
        raise DomainError(f"provider: there is no provider '{value[:40]}'")
    filters.provider_key = value


def _status(filters, value):
    if value not in EVENT_STATUSES:
        raise DomainError(f"status: '{value[:40]}' is not one of {', '.join(EVENT_STATUSES)}")
    filters.status = value


def _text(label, value):
    if len(value) > MAX_TEXT:
        raise DomainError(f"{label}: at most {MAX_TEXT} characters")
    return value


_PARSERS = (
    ("client", lambda f, v: setattr(f, "client_id", _existing(Client, v, "client"))),
    ("provider", _provider),
    ("connection", lambda f, v: setattr(f, "connection_id", _existing(Connection, v, "connection"))),
    ("status", _status),
    ("type", lambda f, v: setattr(f, "event_type", _text("type", v))),
    ("from", lambda f, v: setattr(f, "since", keyset.parse_time(v, "from"))),
    ("to", lambda f, v: setattr(f, "until", keyset.parse_time(v, "to", end=True))),
    ("q", lambda f, v: setattr(f, "q", _text("search", v))),
)


def conditions(filters):
    """The WHERE clauses for these filters; each one served by an index on the events table."""
    events = WebhookEvent
    where = []
    connection_ids = _connection_ids(filters)
    if connection_ids is not None:
        where.append(events.connection_id.in_(connection_ids) if connection_ids else false())
    if filters.status:
        where.append(events.status == filters.status)
    if filters.event_type.endswith("*"):
        where.append(events.event_type.startswith(filters.event_type[:-1], autoescape=True))
    elif filters.event_type:
        where.append(events.event_type == filters.event_type)
    if filters.since:
        where.append(events.received_at >= filters.since)
    if filters.until:
        where.append(events.received_at < filters.until)
    if filters.q:
        ids = search_ids(filters.q)
        where.append(events.id.in_(sorted(ids)) if ids else false())
    return where


def _connection_ids(filters):
    """Connection ids matching the client/provider/connection filters; None when unfiltered."""
    if filters.client_id is None and filters.provider_key is None and filters.connection_id is None:
        return None
    query = select(Connection.id)
    if filters.client_id is not None:
        query = query.where(Connection.client_id == filters.client_id)
    if filters.connection_id is not None:
        query = query.where(Connection.id == filters.connection_id)
    if filters.provider_key is not None:
        query = query.join(Provider).where(Provider.key == filters.provider_key)
    return list(db.session.scalars(query))


def search_ids(term):
    """Ids of events whose id, dedupe key, or normalized record's external id is `term`.

    Three indexed lookups instead of one OR, which no single index could serve.
    """
    term = term.strip()
    ids = set()
    match = _EVENT_ID.fullmatch(term)
    if match:
        ids.add(int(match.group(1)))
    ids.update(db.session.scalars(
        select(WebhookEvent.id).where(WebhookEvent.dedupe_key == term).limit(SEARCH_LIMIT)))
    records = select(NormalizedEvent.id).where(NormalizedEvent.external_id == term).limit(SEARCH_LIMIT)
    ids.update(db.session.scalars(
        select(WebhookEvent.id).where(WebhookEvent.normalized_event_id.in_(list(db.session.scalars(records))))
        .limit(SEARCH_LIMIT)))
    return ids


def page(filters, cursor=None, limit=PAGE_SIZE, extra=()):
    """(events, next cursor or None): newest first, connection, client and provider loaded."""
    query = select(WebhookEvent).where(*conditions(filters), *extra).options(
        selectinload(WebhookEvent.connection).selectinload(Connection.client),
        selectinload(WebhookEvent.connection).selectinload(Connection.provider),
    )
    return keyset.page(db.session, query, WebhookEvent.received_at, WebhookEvent.id, cursor, limit)


def count(filters, extra=()):
    """How many events match; only for an explicit request (bulk actions), never per page."""
    query = select(func.count(WebhookEvent.id)).where(*conditions(filters), *extra)
    return db.session.scalar(query)


def choices():
    """Clients, providers and connections for the filter form (small tables)."""
    connections = db.session.scalars(
        select(Connection).options(selectinload(Connection.client), selectinload(Connection.provider))
    ).all()
    connections = sorted(connections, key=lambda c: (c.display_name.lower(), c.id))
    return {
        "clients": db.session.scalars(select(Client).order_by(Client.name)).all(),
        "providers": db.session.scalars(select(Provider).order_by(Provider.name)).all(),
        "connections": connections,
        "statuses": EVENT_STATUSES,
    }
