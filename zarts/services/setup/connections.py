"""Providers and connections: syncing shipped definitions, creating, editing, rotating secrets."""
import secrets as _random
from datetime import timedelta

from flask import current_app

from ...extensions import db
from ...models import Connection, Provider, User, utcnow
from ...providers import definitions
from .. import DomainError, audit
from ..health import rules
from ..ingest import secrets, targets
from . import accounts

# The first five steps must be done before a connection may go active (see onboarding).
CHECKLIST_STEPS = (
    ("access", "Confirm account access, provider docs, auth model and scopes"),
    ("records", "Create provider and connection records with credentials outside code"),
    ("mapping", "Map objects, fields, statuses and metric names"),
    ("test_event", "Run a test webhook and review created, updated, failed, duplicate and ignored records"),
    ("client_story", "Write the client-safe baseline/current explanation and next action"),
    ("watch", "Watch stale syncs, rate limits, errors and portal visibility after launch"),
)
AUDITED_FIELDS = ("name", "owner_id", "reason", "lifecycle", "paused_reason", "retry_max_attempts",
                  "retry_base_seconds", "expected_cadence_seconds", "portal_visible", "auto_publish_notes",
                  "client_upload", "webhook_rate_limit_per_minute", "health_thresholds", "raw_retention_days")
LIMITS = {  # key: (lowest, highest, label)
    "retry_max_attempts": (1, 20, "max attempts"),
    "retry_base_seconds": (1, 86400, "retry base seconds"),
    "expected_cadence_seconds": (60, 90 * 86400, "expected cadence"),
    "webhook_rate_limit_per_minute": (1, 100000, "deliveries per minute"),
    "raw_retention_days": (0, 3650, "raw body retention (days)"),
}
# None: no check, no limit, or (retention) the RAW_RETENTION_DAYS setting.
OPTIONAL_SETTINGS = ("expected_cadence_seconds", "webhook_rate_limit_per_minute", "raw_retention_days")
MAX_OVERLAP_HOURS = 720
PROVIDER_FIELDS = ("name", "kind", "signature_scheme", "docs_url", "auth_notes", "scopes_notes")


def sync_providers():
    """Upsert the providers table from the shipped definitions; returns the providers by key."""
    existing = {p.key: p for p in db.session.scalars(db.select(Provider))}
    for key, data in definitions().items():
        provider = existing.get(key) or Provider(key=key)
        for field in PROVIDER_FIELDS:
            setattr(provider, field, data.get(field, ""))
        provider.default_mapping = data.get("mapping", {})
        if key not in existing:
            db.session.add(provider)
            existing[key] = provider
    db.session.flush()
    return existing


def get_provider(key):
    """The provider with this key (syncing shipped definitions first), or a DomainError."""
    provider = db.session.scalar(db.select(Provider).filter_by(key=key or ""))
    if provider is None:
        provider = sync_providers().get(key or "")
    if provider is None:
        raise DomainError(f"unknown provider '{key}'")
    return provider


def new_checklist():
    """An onboarding checklist with every step open."""
    return {key: {"done": False, "by": None, "at": None} for key, _ in CHECKLIST_STEPS}


def create_connection(provider_key, client_slug, owner_email, reason, name=None, actor=None, settings=None,
                      secret=None):
    """Connect a provider for a client; returns (connection, the secret zarts generated, shown once).

    secret: the provider's own signing secret, pasted (Stripe, Shopify, Svix-based senders issue
    theirs); then nothing is generated and None comes back in its place. settings: optional
    retry_max_attempts, retry_base_seconds, expected_cadence_seconds, webhook_rate_limit_per_minute,
    portal_visible, health_thresholds, raw_retention_days. The creation is audited (actor None: the
    CLI or the system), never with the secret.
    """
    provider = get_provider(provider_key)
    client = accounts.get_client(client_slug)
    owner = _admin(accounts.get_user(owner_email))
    reason = _reason(reason)
    secret, source, shown = _new_secret(provider.signature_scheme, secret)
    if provider.kind == "sync":  # it holds the source's credential once stored: nothing to copy now
        shown = None
    connection = Connection(
        client=client,
        provider=provider,
        owner=owner,
        reason=reason,
        name=(name or "").strip()[:200] or f"{client.name} · {provider.name}"[:200],
        connection_key=_random.token_urlsafe(24),
        secret_encrypted=secrets.encrypt(secret),
        secret_source=source,
        checklist=new_checklist(),
    )
    for key, value in clean_settings(settings or {}).items():
        setattr(connection, key, value)
    db.session.add(connection)
    db.session.flush()
    audit.record(actor, "connection.create", "connection", connection.id, reason, None,
                 {"provider": provider.key, "client": client.slug, "secret_source": source, **snapshot(connection)})
    return connection, shown


def _new_secret(scheme, pasted):
    """(secret, its source, what to show once): the provider's pasted secret, checked, or a new one."""
    if pasted is not None:
        return secrets.check(scheme, pasted), "provider", None
    secret = secrets.generate(scheme)
    return secret, "zarts", secret


def snapshot(connection):
    """The audited settings of a connection (never its secret)."""
    return {key: getattr(connection, key) for key in AUDITED_FIELDS}


def clean_settings(values):
    """Validated retry policy, cadence, rate limit, visibility and health thresholds (overrides of
    the defaults; an empty dict means all defaults); DomainError naming every problem."""
    cleaned, problems = {}, []
    for key, (low, high, label) in LIMITS.items():
        if key not in values:
            continue
        value = values[key]
        if value is None and key in OPTIONAL_SETTINGS:
            cleaned[key] = None
        elif isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"{label} must be a whole number from {low} to {high}")
        else:
            cleaned[key] = value
    for flag in ("portal_visible", "auto_publish_notes", "client_upload"):
        if flag in values:
            cleaned[flag] = bool(values[flag])
    if "health_thresholds" in values:
        try:
            cleaned["health_thresholds"] = rules.clean_thresholds(values["health_thresholds"])
        except DomainError as exc:
            problems.append(str(exc))
    if problems:
        raise DomainError("; ".join(problems))
    return cleaned


def update_connection(connection, values, actor):
    """Change name, owner, reason, retry policy, cadence, rate limit, visibility or health thresholds;
    audits what changed. Commits."""
    before = snapshot(connection)
    if "owner_id" in values:
        connection.owner = _admin(db.session.get(User, values["owner_id"] or 0))
    if "reason" in values:
        connection.reason = _reason(values["reason"])
    if "name" in values:
        name = (values["name"] or "").strip()[:200]
        if not name:
            raise DomainError("a name is required")
        connection.name = name
    for key, value in clean_settings(values).items():
        setattr(connection, key, value)
    db.session.flush()
    after = snapshot(connection)
    changed = [key for key in AUDITED_FIELDS if before[key] != after[key]]
    if changed:
        audit.record(actor, "connection.update", "connection", connection.id, values.get("change_reason", ""),
                     {k: before[k] for k in changed}, {k: after[k] for k in changed})
    commit()
    return changed


def rotate_secret(connection, actor, overlap_hours=None, secret=None):
    """Put a new secret in force; the old one stays valid for overlap_hours (0: at once).

    secret: the provider's new secret, pasted (e.g. after "Roll secret" in Stripe); otherwise
    zarts generates one. Returns the generated secret, to be shown once, or None for a pasted one.
    """
    if overlap_hours is None:
        overlap_hours = current_app.config["SECRET_ROTATION_OVERLAP_HOURS"]
    if isinstance(overlap_hours, bool) or not isinstance(overlap_hours, int) or not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
        raise DomainError(f"the overlap must be 0 to {MAX_OVERLAP_HOURS} hours")
    if connection.lifecycle == "disconnected":
        raise DomainError("a disconnected connection has no secret to rotate")
    before = {"previous_secret_expires_at": _iso(connection.previous_secret_expires_at),
              "secret_source": connection.secret_source}
    secret, source, shown = _new_secret(connection.provider.signature_scheme, secret)
    if overlap_hours:
        connection.previous_secret_encrypted = connection.secret_encrypted
        connection.previous_secret_expires_at = utcnow() + timedelta(hours=overlap_hours)
    else:
        connection.previous_secret_encrypted = connection.previous_secret_expires_at = None
    connection.secret_encrypted, connection.secret_source = secrets.encrypt(secret), source
    audit.record(actor, "connection.rotate_secret", "connection", connection.id, "", before,
                 {"previous_secret_expires_at": _iso(connection.previous_secret_expires_at),
                  "overlap_hours": overlap_hours, "secret_source": source})
    commit()
    return shown


def previous_secret_valid_until(connection):
    """When the pre-rotation secret stops working, or None when it no longer does."""
    expires = connection.previous_secret_expires_at
    return expires if connection.previous_secret_encrypted and expires and expires > utcnow() else None


def commit():
    """Commit an admin change to a connection and drop this process's cached copy of it."""
    db.session.commit()
    targets.forget_all()


def _admin(user):
    if user is None:
        raise DomainError("the owner must be an existing admin")
    if not user.is_admin:
        raise DomainError(f"owner '{user.email}' must be an admin")
    return user


def _reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("a reason for the connection is required")
    return reason


def _iso(moment):
    return moment.isoformat() if moment else None


def connection_dict(connection, secret=None):
    """The scripting view of a connection; the secret only when just created or rotated."""
    data = {
        "id": connection.id,
        "provider_key": connection.provider.key,
        "client": connection.client.slug,
        "owner": connection.owner.email,
        "lifecycle": connection.lifecycle,
        "health": connection.health,
        "connection_key": connection.connection_key,
        "ingest_path": connection.ingest_path,
        "secret_source": connection.secret_source,
    }
    if secret is not None:
        data["secret"] = secret
    return data
