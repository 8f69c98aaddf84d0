"""The audit trail: one row for every admin write."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .types import BigId, Json, UTCDateTime, utcnow


class AdminAction(db.Model):
    __tablename__ = "event_admin_actions"
    __table_args__ = (
        Index("ix_event_admin_actions_target", "target_type", "target_id"),
        Index("ix_event_admin_actions_created", "created_at", "id"),
        Index("ix_event_admin_actions_action_created", "action", "created_at", "id"),  # audit log filter
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict | None] = mapped_column(Json)
    after: Mapped[dict | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()
