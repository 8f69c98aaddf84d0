"""Configuration from the environment, with generated development keys."""
import os
import secrets
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet

# Kept here (not imported from services) so configuration loads without the domain.
DEFAULT_SENSITIVE_KEYS = (
    "password", "secret", "token", "authorization", "card", "iban", "ssn", "email", "phone", "address",
)

PRODUCTION_VALUES = {"production", "prod"}


class ConfigError(RuntimeError):
    """Raised when the app cannot start with the configuration it was given."""


def _instance_key(instance_path, filename, make):
    """Read a development key from instance/, creating it once if missing."""
    path = Path(instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def _int_env(name, default):
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _bool_env(name, default):
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _list_env(name, default):
    raw = os.environ.get(name)
    if not raw:
        return tuple(default)
    return tuple(item.strip().lower() for item in raw.split(",") if item.strip())


def load_config(instance_path, overrides=None):
    """Build the app's settings from the environment; overrides (tests) win and skip key files."""
    overrides = overrides or {}
    production = os.environ.get("ZARTS_ENV", "development").lower() in PRODUCTION_VALUES
    secret_key = overrides.get("SECRET_KEY") or os.environ.get("SECRET_KEY")
    secrets_key = overrides.get("ZARTS_SECRETS_KEY") or os.environ.get("ZARTS_SECRETS_KEY")
    if production:
        missing = [n for n, v in (("SECRET_KEY", secret_key), ("ZARTS_SECRETS_KEY", secrets_key)) if not v]
        if missing:
            raise ConfigError(
                "ZARTS_ENV=production needs " + " and ".join(missing)
                + "; generate ZARTS_SECRETS_KEY with: python -c 'from cryptography.fernet import"
                " Fernet; print(Fernet.generate_key().decode())'"
            )
    else:
        secret_key = secret_key or _instance_key(instance_path, "secret_key", lambda: secrets.token_hex(32))
        secrets_key = secrets_key or _instance_key(
            instance_path, "secrets.key", lambda: Fernet.generate_key().decode()
        )
    try:
        Fernet(secrets_key.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError("ZARTS_SECRETS_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes)") from exc
    database_url = overrides.get("SQLALCHEMY_DATABASE_URI") or os.environ.get("DATABASE_URL")
    if not database_url:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        database_url = "sqlite:///" + str(Path(instance_path) / "zarts.sqlite")
    settings = {
        "ZARTS_ENV": "production" if production else "development",
        "SECRET_KEY": secret_key,
        "ZARTS_SECRETS_KEY": secrets_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "ZARTS_QUEUE_PREFIX": os.environ.get("ZARTS_QUEUE_PREFIX", "zarts"),
        "WEBHOOK_MAX_BYTES": _int_env("WEBHOOK_MAX_BYTES", 1024 * 1024),
        # Enforced by the CSV upload route itself: a global MAX_CONTENT_LENGTH would also cap webhooks.
        "CSV_MAX_BYTES": _int_env("CSV_MAX_BYTES", 50 * 1024 * 1024),
        "SECRET_ROTATION_OVERLAP_HOURS": _int_env("SECRET_ROTATION_OVERLAP_HOURS", 24),
        "PAYLOAD_SENSITIVE_KEYS": _list_env("ZARTS_SENSITIVE_KEYS", DEFAULT_SENSITIVE_KEYS),
        "OUTBOX_SYNC": False,
        "PORTAL_POLL_SECONDS": _int_env("PORTAL_POLL_SECONDS", 30),
        "CARD_REFRESH_SECONDS": _int_env("CARD_REFRESH_SECONDS", 10),
        "PASSWORD_HASH_METHOD": "scrypt",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_DURATION": timedelta(days=_int_env("REMEMBER_COOKIE_DAYS", 14)),
        "WTF_CSRF_TIME_LIMIT": None,
        # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted (0: none).
        "TRUSTED_PROXY_HOPS": _int_env("TRUSTED_PROXY_HOPS", 0),
        # Sync endpoints on loopback, private, link-local or metadata addresses are refused unless set.
        "SYNC_ALLOW_PRIVATE_ADDRESSES": _bool_env("SYNC_ALLOW_PRIVATE_ADDRESSES", False),
        # Raw webhook bodies of finished events are purged after this many days (0: kept forever).
        "RAW_RETENTION_DAYS": _int_env("RAW_RETENTION_DAYS", 30),
        # Email (Flask-Mail): without MAIL_SERVER nothing is emailed and email notifications say so.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int_env("MAIL_PORT", 25),
        "MAIL_USE_TLS": _bool_env("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool_env("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER") or "ZartsAlgo <alerts@zarts.localhost>",
        "MAIL_TIMEOUT": _int_env("MAIL_TIMEOUT", 10),
        # Notification webhooks on loopback, private, link-local or metadata addresses are refused unless set.
        "NOTIFY_ALLOW_PRIVATE_ADDRESSES": _bool_env("NOTIFY_ALLOW_PRIVATE_ADDRESSES", False),
        "PATHS_INDEX": _bool_env("PATHS_INDEX", True),  # the mapping studio's paths index and drift checks
        "PATHS_INDEX_FLUSH_SECONDS": _int_env("PATHS_INDEX_FLUSH_SECONDS", 10),  # how often a process writes it
        "NOTIFY_GROUP_WINDOW_MINUTES": _int_env("NOTIFY_GROUP_WINDOW_MINUTES", 15),
        "NOTIFY_RATE_PER_HOUR": _int_env("NOTIFY_RATE_PER_HOUR", 30),
        "NOTIFY_MAX_ATTEMPTS": _int_env("NOTIFY_MAX_ATTEMPTS", 4),
        "NOTIFY_TESTING_TOO_LONG_DAYS": _int_env("NOTIFY_TESTING_TOO_LONG_DAYS", 14),
        "DIGEST_EVERY_DAYS": _int_env("DIGEST_EVERY_DAYS", 7),
        # Where links in emails point.
        "PUBLIC_BASE_URL": (os.environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
    }
    settings.update(overrides)
    return settings


def engine_options(database_url):
    """Pool settings that keep long-lived MySQL connections healthy."""
    if database_url.startswith("mysql"):
        return {"pool_pre_ping": True, "pool_recycle": 280}
    if database_url.startswith("sqlite"):
        from .sqlite import Connection

        return {"connect_args": {"factory": Connection}}
    return {}
