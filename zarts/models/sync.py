"""Pull-sync runs: one row per attempt to page through a sync connector's source."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .connections import Connection
from .types import BigId, Json, UTCDateTime, utcnow

SYNC_MODES = ("scheduled", "manual", "test")
# queued -> running -> succeeded | failed | throttled (stopped early, the provider asked us to wait
# longer than we sleep in a worker); a run whose lease expired (its worker died) becomes abandoned.
SYNC_RUN_STATUSES = ("queued", "running", "succeeded", "failed", "throttled", "abandoned")
OPEN_SYNC_STATUSES = ("queued", "running")


class SyncRun(db.Model):
    """A sync run and its lease: open_key equals connection_id while queued or running, so a unique
    index lets at most one run hold a connection on every backend and across processes."""

    __tablename__ = "integration_sync_runs"
    __table_args__ = (Index("ix_integration_sync_runs_conn_id", "connection_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    mode: Mapped[str] = mapped_column(String(16), default="scheduled")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    open_key: Mapped[int | None] = mapped_column(Integer, unique=True)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    fetched: Mapped[int] = mapped_column(Integer, default=0)  # records read from the source
    stored: Mapped[int] = mapped_column(Integer, default=0)  # new raw events (handed to normalization)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)  # already stored (same id + updated-at)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # records without an id
    throttled: Mapped[int] = mapped_column(Integer, default=0)  # 429 answers honoured
    retried: Mapped[int] = mapped_column(Integer, default=0)  # 5xx / network errors retried
    counts: Mapped[dict] = mapped_column(Json, default=dict)  # normalization outcomes when known
    cursor_before: Mapped[str | None] = mapped_column(Text)
    cursor_after: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    # auth / config (permanent: a person must act), http / network / parse (transient), abandoned
    error_kind: Mapped[str | None] = mapped_column(String(16))
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # not before: the provider's Retry-After
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[Connection] = relationship()
    actor: Mapped[User | None] = relationship()

    @property
    def finished(self):
        return self.status not in OPEN_SYNC_STATUSES

    @property
    def seconds(self):
        """How long the run took (or has taken so far), or None before it started."""
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        return max((end - self.started_at).total_seconds(), 0.0)
