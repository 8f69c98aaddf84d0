"""Rate-limit counters kept in the database, so every web process shares them when there is no Redis."""
from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class RateLimitCounter(db.Model):
    """Hits on one rate-limit key within its current fixed window, which ends at expires_at."""

    __tablename__ = "rate_limit_counters"

    # SHA-256 of the limit's key: fixed width, and no address or email is stored.
    key_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
