"""Providers (kinds of outside tools) and connections (a provider connected for one client)."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import Client, User
from .types import Json, UTCDateTime, utcnow

PROVIDER_KINDS = ("webhook", "csv", "sync")
SIGNATURE_SCHEMES = ("standard", "stripe", "github", "shopify", "none")
LIFECYCLES = ("draft", "testing", "active", "paused", "disconnected")
# awaiting: nothing live has arrived yet, so nothing can be said to be healthy (test data never counts).
HEALTHS = ("awaiting", "healthy", "degraded", "stale", "error")


class Provider(db.Model):
    """Mirror of a provider definition shipped under zarts/providers/."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    signature_scheme: Mapped[str] = mapped_column(String(16))
    docs_url: Mapped[str] = mapped_column(String(500), default="")
    auth_notes: Mapped[str] = mapped_column(Text, default="")
    scopes_notes: Mapped[str] = mapped_column(Text, default="")
    default_mapping: Mapped[dict] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Connection(db.Model):
    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    connection_key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)

    lifecycle: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    health: Mapped[str] = mapped_column(String(16), default="awaiting", index=True)
    health_reason: Mapped[str] = mapped_column(Text, default="Awaiting the first live delivery")
    health_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # True while clients are told their data is delayed: staleness or failures of accepted
    # events; never rejected deliveries, which anyone can send.
    data_delayed: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    portal_visible: Mapped[bool] = mapped_column(default=True)
    # Notes zarts writes for the client (a CSV import's summary) go out without the owner's review.
    auto_publish_notes: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # CSV connections: the client's users may upload their own files in the portal.
    client_upload: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    alerts_snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerts_snooze_reason: Mapped[str | None] = mapped_column(String(500))

    # Fernet tokens; the previous secret stays valid until previous_secret_expires_at.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    # Who issued the secret: "zarts" (generated, shown once) or "provider" (pasted by an admin).
    secret_source: Mapped[str] = mapped_column(String(16), default="zarts", server_default="zarts")
    previous_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Optional cap on accepted deliveries per minute; over it the endpoint answers 429 + Retry-After.
    webhook_rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    # Days raw bodies of finished events are kept; None: the RAW_RETENTION_DAYS setting, 0: forever.
    raw_retention_days: Mapped[int | None] = mapped_column(Integer)
    retry_max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    retry_base_seconds: Mapped[int] = mapped_column(Integer, default=120)
    expected_cadence_seconds: Mapped[int | None] = mapped_column(Integer)
    health_thresholds: Mapped[dict] = mapped_column(Json, default=dict)
    checklist: Mapped[dict] = mapped_column(Json, default=dict)
    sync_config: Mapped[dict] = mapped_column(Json, default=dict)
    sync_cursor: Mapped[str | None] = mapped_column(Text)

    rejection_count: Mapped[int] = mapped_column(Integer, default=0)
    last_rejection_reason: Mapped[str | None] = mapped_column(String(255))
    last_rejection_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()
    provider: Mapped[Provider] = relationship()
    owner: Mapped[User] = relationship()
    mappings: Mapped[list["ConnectionMapping"]] = relationship(
        back_populates="connection", order_by="ConnectionMapping.version"
    )

    @property
    def display_name(self):
        """How every admin page names the connection: its client first, then its own name (once)."""
        client = self.client.name
        return self.name if self.name.startswith(client) else f"{client} · {self.name}"

    @property
    def ingest_path(self):
        return f"/webhooks/{self.provider.key}/{self.connection_key}"


class ConnectionMapping(db.Model):
    """One saved version of a connection's mapping override; the highest version is in force."""

    __tablename__ = "connection_mappings"
    __table_args__ = (UniqueConstraint("connection_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    version: Mapped[int] = mapped_column(Integer)
    mapping: Mapped[dict] = mapped_column(Json)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was saved (required since versions have one)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connection: Mapped[Connection] = relationship(back_populates="mappings")


class HealthChange(db.Model):
    """A recorded change of a connection's health, with its reason."""

    __tablename__ = "connection_health_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), index=True)
    from_health: Mapped[str] = mapped_column(String(16))
    to_health: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
