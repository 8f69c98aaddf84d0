"""Bulk operations: one admin request applied to every event matching a filter, run as a job."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .types import BigId, Json, UTCDateTime, utcnow

BULK_KINDS = ("retry",)
BULK_STATUSES = ("queued", "running", "done", "failed")


class BulkOperation(db.Model):
    """Progress of one bulk request; the job resumes from `cursor` if it is run again."""

    __tablename__ = "event_bulk_operations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    filters: Mapped[dict] = mapped_column(Json, default=dict)  # the explorer's query arguments
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(String(64))  # the last event walked, as a page cursor
    error: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    actor: Mapped[User | None] = relationship()

    @property
    def finished(self):
        return self.status in ("done", "failed")

    @property
    def skipped(self):
        """Events counted at the start that no longer needed a retry when the walk reached them."""
        return max(0, self.total - self.done - self.failed) if self.finished else 0

    @property
    def percent(self):
        """Share of the total walked so far, 0-100."""
        if not self.total:
            return 100 if self.finished else 0
        return min(100, round(100 * (self.done + self.failed) / self.total))
