"""Notifications: where alerts go (destinations) and each message, written in the same
transaction as the change that caused it and sent by a job."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import Client, User
from .connections import Connection
from .types import Json, UTCDateTime, utcnow

DESTINATION_KINDS = ("email", "slack", "webhook")
# pending: waiting for its window or its next attempt; sent; failed (gave up after retries);
# not_sent: nothing could carry it (no mail server configured), kept for the log.
NOTIFICATION_STATUSES = ("pending", "sent", "failed", "not_sent")


class NotificationDestination(db.Model):
    """An email address, a Slack-compatible incoming webhook or a signed JSON webhook that alerts go to:
    an admin's own (user_id) or a connection's (connection_id)."""

    __tablename__ = "notification_destinations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    target_encrypted: Mapped[bytes] = mapped_column(LargeBinary)  # the address or URL (URLs carry tokens)
    target_shown: Mapped[str] = mapped_column(String(255))  # masked, for lists: "ops@…", "hooks.slack.com/…"
    secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)  # signing secret of a JSON webhook
    enabled: Mapped[bool] = mapped_column(default=True)
    failing: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    connection: Mapped[Connection | None] = relationship()


class Notification(db.Model):
    """One message to one destination (or one digest to one client user), and what became of it."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_due", "status", "due_at"),
        Index("ix_notifications_group", "group_key", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    destination_id: Mapped[int | None] = mapped_column(ForeignKey("notification_destinations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # a digest's client user
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    group_key: Mapped[str | None] = mapped_column(String(191))  # what a window groups: "dead_letters:7"
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)  # plain text
    html: Mapped[str | None] = mapped_column(Text)  # an email's HTML part (the digest)
    link: Mapped[str | None] = mapped_column(String(500))
    facts: Mapped[dict] = mapped_column(Json, default=dict)  # counts and reasons the message is made from
    count: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    destination: Mapped[NotificationDestination | None] = relationship()
    connection: Mapped[Connection | None] = relationship()
    client: Mapped[Client | None] = relationship()
