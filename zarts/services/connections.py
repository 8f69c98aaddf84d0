"""Providers and connections: syncing shipped definitions, creating connections."""
import secrets as _random

from ..extensions import db
from ..models import Connection, Provider
from ..providers import definitions
from . import DomainError, accounts, secrets

# The first five steps must be done before a connection may go active (see onboarding).
CHECKLIST_STEPS = (
    ("access", "Confirm account access, provider docs, auth model and scopes"),
    ("records", "Create provider and connection records with credentials outside code"),
    ("mapping", "Map objects, fields, statuses and metric names"),
    ("test_event", "Run a test webhook and review created, updated, failed, duplicate and ignored records"),
    ("client_story", "Write the client-safe baseline/current explanation and next action"),
    ("watch", "Watch stale syncs, rate limits, errors and portal visibility after launch"),
)
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


def create_connection(provider_key, client_slug, owner_email, reason, name=None):
    """Connect a provider for a client; returns (connection, plaintext secret shown once)."""
    provider = get_provider(provider_key)
    client = accounts.get_client(client_slug)
    owner = accounts.get_user(owner_email)
    if not owner.is_admin:
        raise DomainError(f"owner '{owner.email}' must be an admin")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("a reason for the connection is required")
    secret = secrets.generate(provider.signature_scheme)
    connection = Connection(
        client=client,
        provider=provider,
        owner=owner,
        reason=reason,
        name=(name or f"{client.name} · {provider.name}")[:200],
        connection_key=_random.token_urlsafe(24),
        secret_encrypted=secrets.encrypt(secret),
        checklist=new_checklist(),
    )
    db.session.add(connection)
    db.session.flush()
    return connection, secret


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
    }
    if secret is not None:
        data["secret"] = secret
    return data
