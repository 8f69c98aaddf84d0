"""Manual CSV imports: one row per uploaded file, its bytes kept in the database in chunks."""
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .connections import Connection
from .types import Json, LongBlob, UTCDateTime, utcnow

# uploaded -> checking (dry run running) -> dry_run (checked, waiting for the admin) ->
# importing -> done; failed when the file turns out unreadable or the job breaks.
IMPORT_STATUSES = ("uploaded", "checking", "dry_run", "importing", "done", "failed")
RUNNING_STATUSES = ("checking", "importing")
# How the file came in: an admin's upload, the CLI, a signed webhook delivery, a client's upload in the portal.
IMPORT_SOURCES = ("admin", "cli", "webhook", "portal")


class CsvImport(db.Model):
    """One uploaded CSV file for a manual_csv_import connection and what became of its rows."""

    __tablename__ = "csv_imports"
    __table_args__ = (
        Index("ix_csv_imports_connection_sha256", "connection_id", "sha256"),
        Index("ix_csv_imports_connection_created", "connection_id", "created_at", "id"),
        # A webhook delivery's id, so a redelivery finds the file it already brought.
        UniqueConstraint("connection_id", "delivery_id", name="uq_csv_imports_connection_delivery"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the CLI or a webhook
    source: Mapped[str] = mapped_column(String(16), default="admin", server_default="admin")
    delivery_id: Mapped[str | None] = mapped_column(String(200))
    # Import right after a clean-enough dry run, with nobody to confirm (webhook deliveries).
    auto_import: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    encoding: Mapped[str] = mapped_column(String(16))
    delimiter: Mapped[str] = mapped_column(String(4))
    headers: Mapped[list] = mapped_column(Json, default=list)
    # The mapping's "csv" section this file was checked and imported with (a snapshot).
    columns: Mapped[dict | None] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16), default="uploaded")
    status_reason: Mapped[str | None] = mapped_column(Text)
    forced: Mapped[bool] = mapped_column(default=False)  # confirmed although already imported
    counts: Mapped[dict] = mapped_column(Json, default=dict)
    row_errors: Mapped[list] = mapped_column(Json, default=list)  # the first ROW_ERROR_LIMIT
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    done_rows: Mapped[int] = mapped_column(Integer, default=0)
    done_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_event_id: Mapped[int | None] = mapped_column(ForeignKey("event_webhook_events.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[Connection] = relationship()
    actor: Mapped[User | None] = relationship()

    @property
    def running(self):
        return self.status in RUNNING_STATUSES


class CsvImportChunk(db.Model):
    """Up to 1 MiB of an uploaded file, so any worker host can stream it back in order."""

    __tablename__ = "csv_import_chunks"

    import_id: Mapped[int] = mapped_column(ForeignKey("csv_imports.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LongBlob)
