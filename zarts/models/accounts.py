"""Clients (tenants) and the users who log in: admins and client users."""
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .types import UTCDateTime, utcnow

ROLES = ("admin", "client")


class Client(db.Model):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The periodic email of the client's cards and new notes to its users (the admin can turn it off).
    digest_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    users: Mapped[list["User"]] = relationship(back_populates="client")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digest_unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # one click, from the email
    # Part of every session and remember cookie (get_id); bumping it logs the user out everywhere.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    client: Mapped[Client | None] = relationship(back_populates="users")

    def get_id(self):
        """The id Flask-Login keeps in the session and remember cookie: only valid at this version."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self):
        return self.active

    @property
    def is_admin(self):
        return self.role == "admin"

    @property
    def display_name(self):
        return self.name or self.email

    def set_password(self, password, method="scrypt"):
        """Store a salted hash of the password, never the password."""
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password):
        """True when the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)
