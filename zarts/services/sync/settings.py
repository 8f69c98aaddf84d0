"""A sync connector's configuration: data on the connection, over its provider's defaults.

connection.sync_config holds the overrides (endpoint, JMESPath paths, pagination, limits); the
provider definition's "sync" section holds the defaults. The credential is the connection's
secret, encrypted at rest like every webhook secret.
"""
import re
from urllib.parse import urlsplit

import jmespath

from ...extensions import db
from ...providers import definition
from .. import DomainError, audit
from ..ingest import secrets
from . import addresses

PAGINATIONS = ("cursor", "updated_since")
HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")
PARAM_NAME = re.compile(r"[A-Za-z0-9_.\[\]-]{1,64}")
BUILT_IN = {
    "endpoint": None, "auth_header": "Authorization", "auth_prefix": "Bearer ",
    "records_path": "data", "id_path": "id", "updated_at_path": "updated_at", "event_type": "record",
    "pagination": "cursor", "cursor_param": "cursor", "next_cursor_path": "next_cursor", "has_more_path": None,
    "since_param": "updated_since", "page_size": 100, "page_size_param": "limit", "query": {},
    "schedule_seconds": None, "max_pages": 100, "max_run_seconds": 600, "timeout_seconds": 15,
    "max_retries": 4, "retry_after_cap_seconds": 120, "backoff_base_seconds": 2, "backoff_cap_seconds": 60,
}
NUMBERS = {  # key: (lowest, highest, whole numbers only)
    "page_size": (1, 1000, True), "schedule_seconds": (60, 7 * 86400, True), "max_pages": (1, 10_000, True),
    "max_run_seconds": (1, 6 * 3600, True), "timeout_seconds": (1, 120, True), "max_retries": (0, 20, True),
    "retry_after_cap_seconds": (0, 3600, False), "backoff_base_seconds": (0, 600, False),
    "backoff_cap_seconds": (0, 3600, False),
}
PATHS = ("records_path", "id_path", "updated_at_path", "next_cursor_path", "has_more_path")
PARAMS = ("cursor_param", "since_param", "page_size_param")
DEFAULT_SCHEDULE_SECONDS = 3600


class ConfigProblem(DomainError):
    """The sync cannot run with this configuration (a person must fix it)."""


def defaults(connection):
    """What a setting is when the connection does not override it: built-ins < provider defaults."""
    shipped = (definition(connection.provider.key) or {}).get("sync") or {}
    return {**BUILT_IN, **shipped}


def effective(connection):
    """The configuration a run uses: built-ins < provider defaults < connection overrides.

    ConfigProblem when it is incomplete or invalid.
    """
    config = {**defaults(connection), **(connection.sync_config or {})}
    if problems := validate(config):
        raise ConfigProblem("sync configuration: " + "; ".join(problems))
    return config


def schedule_seconds(connection, config=None):
    """How often the connection syncs: its schedule, else its expected cadence, else hourly."""
    configured = (config or connection.sync_config or {}).get("schedule_seconds")
    return configured or connection.expected_cadence_seconds or DEFAULT_SCHEDULE_SECONDS


def validate(config):
    """Every problem with a (merged) configuration; [] when it is usable."""
    problems = [f"unknown setting '{key}'" for key in config if key not in BUILT_IN]
    endpoint = config.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        problems.append("endpoint: required (an http or https URL)")
    else:
        parts = urlsplit(endpoint.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append("endpoint: must be an http or https URL with a host")
        if parts.username or parts.password:
            problems.append("endpoint: put credentials in the credential, not in the URL")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            problems.append("endpoint: the port must be a number from 1 to 65535")
    if not (isinstance(config.get("auth_header"), str) and HEADER_NAME.fullmatch(config["auth_header"])):
        problems.append("auth_header: must be an HTTP header name")
    prefix = config.get("auth_prefix")
    if not isinstance(prefix, str) or len(prefix) > 64 or any(c in prefix for c in "\r\n"):
        problems.append("auth_prefix: must be text of at most 64 characters on one line")
    for key in PATHS:
        value = config.get(key)
        if value is None and key in ("next_cursor_path", "has_more_path"):
            continue
        try:
            jmespath.compile(value) if isinstance(value, str) and value.strip() else _raise()
        except (ValueError, RecursionError):
            problems.append(f"{key}: must be a JMESPath expression")
    if config.get("pagination") not in PAGINATIONS:
        problems.append(f"pagination: one of {', '.join(PAGINATIONS)}")
    elif config["pagination"] == "cursor" and not config.get("next_cursor_path"):
        problems.append("next_cursor_path: required for cursor pagination")
    for key in PARAMS:
        if not (isinstance(config.get(key), str) and PARAM_NAME.fullmatch(config[key])):
            problems.append(f"{key}: must be a query parameter name")
    if not (isinstance(config.get("event_type"), str) and 0 < len(config["event_type"]) <= 255):
        problems.append("event_type: required, at most 255 characters")
    query = config.get("query")
    if not isinstance(query, dict) or not all(isinstance(k, str) and isinstance(v, (str, int)) for k, v in query.items()):
        problems.append("query: must be an object of parameter name -> text")
    for key, (low, high, whole) in NUMBERS.items():
        value = config.get(key)
        if value is None and key == "schedule_seconds":
            continue
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            problems.append(f"{key}: must be a {'whole ' if whole else ''}number from {low} to {high}")
    return problems


def _raise():
    raise ValueError("empty")


def configure(connection, changes, actor, credential=None, reason="", replace=False):
    """Merge changes into the connection's sync settings (None removes one; with replace, they are
    the whole new set) and optionally store a new credential; validated, audited (never the
    credential), committed."""
    if connection.provider.kind != "sync":
        raise DomainError(f"connection {connection.id} is not a sync connector")
    before = dict(connection.sync_config or {})
    after = {k: v for k, v in {**({} if replace else before), **(changes or {})}.items() if v is not None}
    merged = {**defaults(connection), **after}
    if problems := validate(merged):
        raise DomainError("; ".join(problems))
    if problem := addresses.endpoint_problem(merged["endpoint"]):  # runs check again: DNS answers change
        raise DomainError(problem)
    connection.sync_config = after
    if credential is not None:
        if not credential.strip() or any(c in credential for c in "\r\n"):
            raise DomainError("the credential must be one line of text")
        connection.secret_encrypted, connection.secret_source = secrets.encrypt(credential.strip()), "provider"
        connection.previous_secret_encrypted = connection.previous_secret_expires_at = None
    audit.record(actor, "connection.sync_configure", "connection", connection.id, reason, {"sync_config": before},
                 {"sync_config": after, "credential_changed": credential is not None})
    db.session.commit()
    return after


def reset_cursor(connection, actor, reason=""):
    """Forget where the sync got to: the next run reads the source from the start (duplicates are
    recognised by id + updated-at, so nothing is created twice). Audited, committed."""
    before = connection.sync_cursor
    connection.sync_cursor = None
    audit.record(actor, "connection.sync_reset", "connection", connection.id, reason,
                 {"sync_cursor": before}, {"sync_cursor": None})
    db.session.commit()
