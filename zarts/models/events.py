"""What arrives and what it becomes: webhook events, raw bytes, normalized records, sync errors."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .connections import Connection
from .types import BigId, Json, LongBlob, UTCDateTime, utcnow

EVENT_STATUSES = (
    "received", "queued", "processing", "normalized", "ignored",
    "retry_scheduled", "dead_lettered", "resolved_manually",
)
FINAL_STATUSES = ("normalized", "ignored", "dead_lettered", "resolved_manually")
EVENT_SOURCES = ("webhook", "csv", "sync", "manual")
# test: sent with "Send test event", marked so by the provider, or received before the connection
# went active. Stored and normalized for admins; never reaches metrics, cards, notes or incidents.
MODES = ("live", "test")


class WebhookEvent(db.Model):
    """One accepted delivery; the database row is the truth about its state."""

    __tablename__ = "event_webhook_events"
    __table_args__ = (
        UniqueConstraint("connection_id", "dedupe_key"),
        Index("ix_event_webhook_events_conn_received", "connection_id", "received_at", "id"),
        Index("ix_event_webhook_events_status_received", "status", "received_at", "id"),
        Index("ix_event_webhook_events_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_event_webhook_events_received", "received_at", "id"),
        # The event explorer: connection + status together, event type over time, search by key.
        Index("ix_event_webhook_events_conn_status_received", "connection_id", "status", "received_at", "id"),
        Index("ix_event_webhook_events_type_received", "event_type", "received_at", "id"),
        Index("ix_event_webhook_events_dedupe_key", "dedupe_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    source: Mapped[str] = mapped_column(String(16), default="webhook")
    mode: Mapped[str] = mapped_column(String(8), default="live", server_default="live")
    dedupe_key: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(24), default="received")
    status_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # retry_scheduled: when the retry is due. queued: when the sweeper hands it over again if no
    # worker has taken it by then.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A replay's choice of mapping version (0: the provider's default); None: the one in force.
    mapping_version_pin: Mapped[int | None] = mapped_column(Integer)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set with the claim, so a worker updates only the rows it claimed itself.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    # The worker process holding the claim (zarts.workers), so a dead worker's claims end early.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    normalized_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("integration_normalized_events.id"), index=True
    )
    outcome: Mapped[str | None] = mapped_column(String(16))  # created / updated / unchanged / stale
    payload_summary: Mapped[dict] = mapped_column(Json, default=dict)
    body_sha256: Mapped[str] = mapped_column(String(64), default="")
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    last_duplicate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[Connection] = relationship()
    raw_event: Mapped["RawEvent | None"] = relationship(back_populates="webhook_event")
    normalized_event: Mapped["NormalizedEvent | None"] = relationship()


class RawEvent(db.Model):
    """The exact bytes received. Internal only: never rendered unless an admin asks (audited)."""

    __tablename__ = "integration_raw_events"
    __table_args__ = (Index("ix_integration_raw_events_received", "received_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_webhook_events.id"), unique=True
    )
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(255), default="")
    headers: Mapped[dict] = mapped_column(Json, default=dict)
    body: Mapped[bytes] = mapped_column(LongBlob)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the retention period emptied the body; headers and the event's summary stay.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    webhook_event: Mapped[WebhookEvent | None] = relationship(back_populates="raw_event")


class NormalizedEvent(db.Model):
    """A provider record in ZartsAlgo terms; one row per (connection, mode, object type, external id):
    test deliveries make records of their own, which live data never meets."""

    __tablename__ = "integration_normalized_events"
    __table_args__ = (
        UniqueConstraint("connection_id", "mode", "object_type", "external_id", name="uq_integration_normalized_events_record"),
        Index("ix_integration_normalized_events_client_updated", "client_id", "updated_at"),
        Index("ix_integration_normalized_events_external_id", "external_id"),  # explorer search
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    mode: Mapped[str] = mapped_column(String(8), default="live", server_default="live")
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    source: Mapped[str] = mapped_column(String(16), default="webhook")
    object_type: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(64))
    provider_status: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[dict] = mapped_column(Json, default=dict)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetricValue(db.Model):
    """A number a normalized record contributes to a named metric."""

    __tablename__ = "integration_metric_values"
    __table_args__ = (
        UniqueConstraint("normalized_event_id", "name"),
        Index("ix_integration_metric_values_conn_name_time", "connection_id", "name", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    normalized_event_id: Mapped[int] = mapped_column(ForeignKey("integration_normalized_events.id"))
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    unit: Mapped[str] = mapped_column(String(32), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncError(db.Model):
    """One failed attempt at any stage (verify, parse, map, upsert, enqueue, sync, import)."""

    __tablename__ = "integration_sync_errors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), index=True)
    webhook_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_webhook_events.id"), index=True
    )
    stage: Mapped[str] = mapped_column(String(32))
    error_class: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    transient: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
