"""Metrics and what they become: portal cards, report notes, admin tasks, incidents."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import Client, User
from .connections import Connection
from .types import Json, UTCDateTime, utcnow

PERIODS = ("day", "week", "month", "quarter")
BASELINE_MODES = ("fixed", "previous_period")
AGGREGATIONS = ("sum", "count", "last", "avg")
DIRECTIONS = ("higher", "lower")


class MetricDefinition(db.Model):
    """A tracked signal; publishable only with source, period, unit and client meaning set."""

    __tablename__ = "metric_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # How the client's card names the source ("Online card payments"); blank: the provider's plain name.
    source_name: Mapped[str | None] = mapped_column(String(100))
    metric_name: Mapped[str] = mapped_column(String(100))
    period: Mapped[str | None] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(32))
    client_meaning: Mapped[str | None] = mapped_column(Text)
    aggregation: Mapped[str] = mapped_column(String(16), default="sum")
    # "fixed": baseline_value as given; "previous_period": the value of the period before this one.
    baseline_mode: Mapped[str] = mapped_column(String(16), default="fixed", server_default="fixed")
    baseline_value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    baseline_label: Mapped[str | None] = mapped_column(String(200))
    target_value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    direction: Mapped[str] = mapped_column(String(8), default="higher")
    watch_threshold: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    action_threshold: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    next_action: Mapped[str | None] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship()
    connection: Mapped[Connection | None] = relationship()


class PortalCard(db.Model):
    """What a client sees for one published metric, kept pre-aggregated for the portal."""

    __tablename__ = "portal_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric_definitions.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    visible: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    current_value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    baseline_value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    trend: Mapped[list] = mapped_column(Json, default=list)
    # How many values each trend period is made of (the drill-down's counts for a period too big to list).
    trend_counts: Mapped[list | None] = mapped_column(Json, default=list)  # None on cards drawn before it
    value_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last recomputed
    # When the current value last changed, whatever brought it (webhook, sync, CSV, manual update).
    value_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    metric: Mapped[MetricDefinition] = relationship()


class ReportNote(db.Model):
    """A dated, client-visible note, written by an admin or generated (e.g. a CSV import)."""

    __tablename__ = "report_notes"
    __table_args__ = (Index("ix_report_notes_client_date", "client_id", "note_date", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id"))
    metric_id: Mapped[int | None] = mapped_column(ForeignKey("metric_definitions.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    note_date: Mapped[date] = mapped_column(Date)
    visible: Mapped[bool] = mapped_column(default=True)
    # Notes zarts writes start as drafts the connection's owner approves (published) or discards;
    # only published notes reach the portal.
    status: Mapped[str] = mapped_column(String(16), default="published", server_default="published")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdminTask(db.Model):
    """Work for a connection's owner: a dead letter, a threshold crossed, an incident."""

    __tablename__ = "admin_tasks"
    __table_args__ = (Index("ix_admin_tasks_assignee_status", "assignee_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    webhook_event_id: Mapped[int | None] = mapped_column(ForeignKey("event_webhook_events.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    # Set while open so one open task per (kind, subject) is enforced by a unique index.
    open_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


class Incident(db.Model):
    """Opened when a connection's health is error or stale; resolves itself on recovery."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    health: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    client_summary: Mapped[str] = mapped_column(Text, default="")
    show_to_client: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")
    # Equals connection_id while open: at most one open incident per connection, on every backend.
    open_key: Mapped[int | None] = mapped_column(Integer, unique=True)
    details: Mapped[dict] = mapped_column(Json, default=dict)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[Connection] = relationship()
