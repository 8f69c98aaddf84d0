"""What deliveries look like: the paths and types seen per connection and event type (the paths
index behind the mapping studio's field picker), and schema drift findings."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .connections import Connection
from .types import Json, UTCDateTime, utcnow

DRIFT_KINDS = ("path_missing", "type_changed", "new_event_type")
DRIFT_STATUSES = ("open", "accepted", "fixed")


class EventShape(db.Model):
    """One path of one event type on one connection: its JSON types, how often it is present, a masked
    example, and for how many indexed deliveries in a row it has been missing. The row with path ""
    counts the indexed deliveries of the type."""

    __tablename__ = "event_shapes"
    __table_args__ = (UniqueConstraint("connection_id", "key_hash", name="uq_event_shapes_connection_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    key_hash: Mapped[str] = mapped_column(String(64))  # sha256 of event type and path: a short unique key
    event_type: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(500))
    types: Mapped[list] = mapped_column(Json, default=list)
    seen: Mapped[int] = mapped_column(Integer, default=0)
    missing_streak: Mapped[int] = mapped_column(Integer, default=0)
    example: Mapped[str | None] = mapped_column(String(200))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DriftFinding(db.Model):
    """A provider changed what it sends: a mapped path stopped coming, changed type, or a new event type
    started arriving. Open until accepted (the new shape is expected) or fixed by a mapping version."""

    __tablename__ = "drift_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(500), default="")
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # one open finding per change
    status: Mapped[str] = mapped_column(String(16), default="open")
    detail: Mapped[dict] = mapped_column(Json, default=dict)  # before / now examples, mappings and metrics
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(Text)

    connection: Mapped[Connection] = relationship()
