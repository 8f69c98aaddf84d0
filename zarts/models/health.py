"""Health signals that are not rows of their own: rejected deliveries and provider throttling.

Counted per connection, per kind, per minute, so the health check can ask "how many in the last
15 minutes" cheaply, however long a burst lasts (one row per minute, never one per request), and
nothing of an unauthenticated request is stored but the count.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .events import SyncError
from .types import BigId, UTCDateTime

# auth_rejected: 401 (signature missing, malformed, wrong or outside the tolerance);
# rejected: other refused deliveries (413, 415); throttled: the provider answered a sync with 429.
SIGNAL_KINDS = ("auth_rejected", "rejected", "throttled")


class HealthSignal(db.Model):
    """How many times something happened to a connection within one minute."""

    __tablename__ = "connection_health_signals"
    __table_args__ = (UniqueConstraint("connection_id", "kind", "bucket_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    kind: Mapped[str] = mapped_column(String(16))
    bucket_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # the minute, seconds zeroed
    hits: Mapped[int] = mapped_column(Integer, default=0)


class RejectedDelivery(db.Model):
    """One of a connection's last REJECTIONS_KEPT refused deliveries: when, the status answered, why.

    A ring: the n-th rejection overwrites slot n % REJECTIONS_KEPT, so a flood of forged requests
    keeps the table at that many rows per connection. Never anything of the request's body.
    """

    __tablename__ = "connection_rejections"
    __table_args__ = (UniqueConstraint("connection_id", "slot"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    slot: Mapped[int] = mapped_column(Integer)
    rejected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(255))


REJECTIONS_KEPT = 20


# The health check counts each connection's failed attempts in a recent window; declared here,
# beside the check's other needs, it attaches to integration_sync_errors like any table index.
Index("ix_integration_sync_errors_conn_created", SyncError.__table__.c.connection_id, SyncError.__table__.c.created_at)
