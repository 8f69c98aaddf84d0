"""Clients and users: creation with validation, password authentication and changes, session revocation."""
import re

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, update
from werkzeug.security import check_password_hash, generate_password_hash

from ...extensions import db
from ...models import ROLES, Client, User, utcnow
from .. import DomainError, audit

SLUG_RE = re.compile(r"[^a-z0-9]+")
MIN_PASSWORD = 8
# Compared against when the email is unknown, so both paths cost one hash check.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def slugify(text):
    """Lower-case, dash-separated slug of text."""
    return SLUG_RE.sub("-", text.lower()).strip("-")[:64]


def create_client(name, slug=None):
    """Create a client (tenant); the slug is derived from the name unless given."""
    name = (name or "").strip()
    if not name:
        raise DomainError("client name is required")
    slug = slugify(slug or name)
    if not slug:
        raise DomainError("client name must contain letters or digits")
    if db.session.scalar(db.select(Client).filter_by(slug=slug)):
        raise DomainError(f"a client with slug '{slug}' already exists")
    client = Client(name=name[:200], slug=slug)
    db.session.add(client)
    db.session.flush()
    return client


def get_client(slug):
    """The client with this slug, or a DomainError naming it."""
    client = db.session.scalar(db.select(Client).filter_by(slug=slug or ""))
    if client is None:
        raise DomainError(f"unknown client '{slug}'")
    return client


def normalize_email(email):
    """Validated, lower-cased email address (no deliverability lookup: machines are offline)."""
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError(f"invalid email: {exc}") from exc


def create_user(email, password, role, client_slug=None, name=""):
    """Create a user; client users belong to exactly one client, admins to none."""
    email = normalize_email(email)
    if role not in ROLES:
        raise DomainError(f"role must be one of {', '.join(ROLES)}")
    _check_password(password)
    if role == "client" and not client_slug:
        raise DomainError("a client user needs --client SLUG")
    if role == "admin" and client_slug:
        raise DomainError("an admin does not belong to a client")
    client = get_client(client_slug) if client_slug else None
    if db.session.scalar(db.select(User).where(func.lower(User.email) == email)):
        raise DomainError(f"a user with email '{email}' already exists")
    user = User(email=email, name=name, role=role, client=client)
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    db.session.flush()
    return user


def _check_password(password):
    """DomainError unless the password is acceptable for an account."""
    if len(password or "") < MIN_PASSWORD:
        raise DomainError(f"password must be at least {MIN_PASSWORD} characters")


def change_password(user, new_password, actor=None):
    """Set a new password (checked as at creation) and log the user out of every session; audited."""
    _check_password(new_password)
    user.set_password(new_password, current_app.config["PASSWORD_HASH_METHOD"])
    revoke_sessions(user)
    audit.record(actor, "user.change_password", "user", user.id, after={"sessions_revoked": True})
    db.session.flush()
    return user


def revoke_sessions(user):
    """Bump the user's session version: every session and remember cookie issued so far stops working.

    An UPDATE of the stored value, so two revocations at once both count (the caller commits).
    """
    db.session.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1))


def get_user(email):
    """The user with this email, or a DomainError naming it."""
    user = db.session.scalar(db.select(User).where(func.lower(User.email) == (email or "").strip().lower()))
    if user is None:
        raise DomainError(f"unknown user '{email}'")
    return user


def authenticate(email, password):
    """The active user with these credentials, else None; timing does not reveal unknown emails."""
    user = db.session.scalar(db.select(User).where(func.lower(User.email) == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not user.check_password(password or "") or not user.is_active:
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user
