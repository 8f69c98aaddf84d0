"""Read models for the admin health board: connections with their last 24 hours in numbers."""
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import HEALTHS, AdminTask, Client, Connection, Provider, User, WebhookEvent, utcnow

WINDOW = timedelta(hours=24)
PENDING = ("received", "queued", "processing")


@dataclass
class Stats:
    """What one connection's provider sent in the window, by where it ended up."""

    accepted: int = 0
    normalized: int = 0
    ignored: int = 0
    failed: int = 0  # retry_scheduled: failing, still within the retry budget
    dead_lettered: int = 0
    pending: int = 0
    resolved_manually: int = 0
    duplicates: int = 0
    by_status: dict = field(default_factory=dict)

    @property
    def error_rate(self):
        """Share of accepted events now failing or dead-lettered, in percent; None without events."""
        if not self.accepted:
            return None
        return round(100.0 * (self.failed + self.dead_lettered) / self.accepted, 1)


@dataclass
class Card:
    connection: Connection
    stats: Stats


@dataclass(frozen=True)
class Filters:
    """The board's URL filters; None means "any"."""

    client: int | None = None
    provider: str | None = None
    health: str | None = None
    owner: int | None = None

    @classmethod
    def from_args(cls, args):
        """Read ?client=&provider=&health=&owner= leniently: unknown values are dropped."""
        health = args.get("health") or None
        return cls(client=args.get("client", type=int), provider=(args.get("provider") or None),
                   health=health if health in HEALTHS else None, owner=args.get("owner", type=int))

    def active(self):
        return any(v is not None for v in (self.client, self.provider, self.health, self.owner))


def stats_by_connection(connection_ids=None, now=None):
    """{connection_id: Stats} for events received in the last 24 h, from one grouped query.

    Manual updates are left out: the card describes what the provider sent.
    """
    since = (now or utcnow()) - WINDOW
    query = (
        db.select(WebhookEvent.connection_id, WebhookEvent.status, func.count(),
                  func.coalesce(func.sum(WebhookEvent.duplicate_count), 0))
        .where(WebhookEvent.received_at >= since, WebhookEvent.source != "manual")
        .group_by(WebhookEvent.connection_id, WebhookEvent.status)
    )
    if connection_ids is not None:
        if not connection_ids:
            return {}
        query = query.where(WebhookEvent.connection_id.in_(list(connection_ids)))
    found = {}
    for connection_id, status, count, duplicates in db.session.execute(query):
        stats = found.setdefault(connection_id, Stats())
        count, duplicates = int(count), int(duplicates)
        stats.by_status[status] = count
        stats.accepted += count
        stats.duplicates += duplicates
        if status == "retry_scheduled":
            stats.failed += count
        elif status in PENDING:
            stats.pending += count
        elif status in ("normalized", "ignored", "dead_lettered", "resolved_manually"):
            setattr(stats, status, getattr(stats, status) + count)
    return found


def _connections_query():
    return db.select(Connection).options(
        joinedload(Connection.client), joinedload(Connection.provider), joinedload(Connection.owner)
    )


def cards(filters=Filters()):
    """The board: every connection matching the filters, with its stats (two queries in all)."""
    query = _connections_query().order_by(Connection.client_id, Connection.id)
    if filters.client is not None:
        query = query.where(Connection.client_id == filters.client)
    if filters.provider is not None:
        query = query.join(Provider, Connection.provider_id == Provider.id).where(Provider.key == filters.provider)
    if filters.health is not None:
        query = query.where(Connection.health == filters.health)
    if filters.owner is not None:
        query = query.where(Connection.owner_id == filters.owner)
    connections = list(db.session.scalars(query).unique())
    # Unfiltered boards read every connection's stats at once rather than list every id.
    stats = stats_by_connection([c.id for c in connections] if filters.active() else None)
    return [Card(c, stats.get(c.id, Stats())) for c in connections]


def card(connection_id):
    """One connection's card, or None when there is no such connection."""
    connection = db.session.scalar(_connections_query().where(Connection.id == connection_id))
    if connection is None:
        return None
    return Card(connection, stats_by_connection([connection_id]).get(connection_id, Stats()))


def filter_options():
    """Choices for the filter bar: clients, providers, admins."""
    return {
        "clients": db.session.scalars(db.select(Client).order_by(Client.name)).all(),
        "providers": db.session.scalars(db.select(Provider).order_by(Provider.name)).all(),
        "owners": db.session.scalars(db.select(User).filter_by(role="admin").order_by(User.email)).all(),
        "healths": HEALTHS,
    }


def open_task_count():
    """How many admin tasks are open, for the board's header."""
    return db.session.scalar(db.select(func.count()).select_from(AdminTask).where(AdminTask.status == "open"))

