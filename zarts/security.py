"""HTTP hardening: security headers, rate limits where guessing pays, trusted proxies, bounded ids."""
import hashlib
import unicodedata

from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import limit_storage

# Only our own files: htmx and CSS are served from /static, and no template has inline script.
CSP = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'self'",
    "form-action 'self'", "frame-ancestors 'none'",
))
LOGIN_LIMITS = "10 per minute; 100 per hour"  # per client address
ACCOUNT_LOGIN_LIMITS = "10 per 15 minutes"  # per submitted email, from any number of addresses
MAX_ID = 2**63 - 1  # the largest value a BIGINT (and SQLite's INTEGER) holds
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP), ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"), ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)
WEBHOOK_PATH_PREFIX = "/webhooks/"

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


@limiter.request_filter
def _is_webhook_delivery():
    """Deliveries have their own per-connection limit, checked after the signature (webhook_limits)."""
    return request.blueprint == "webhooks"


def submitted_account():
    """The per-account login limit's key: the submitted email, folded as the database compares it.

    MariaDB's _ci collations find the account whatever the case, accents or invisible characters
    of the address, so every such spelling counts against one bucket. Hashed: a password typed
    into the email field is kept neither in Redis nor in the database.
    """
    email = unicodedata.normalize("NFKD", (request.form.get("email") or "").strip().casefold())
    folded = "".join(char for char in email if unicodedata.category(char) not in ("Mn", "Cf"))
    return "account:" + hashlib.sha256(folded.encode()).hexdigest()


class IdConverter(IntegerConverter):
    """`<int:...>` up to MAX_ID: a larger id is a 404 instead of an overflow in the database driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions for people; a webhook delivery gets none (nor the cost of opening one)."""

    def open_session(self, app, request):
        if request.path.startswith(WEBHOOK_PATH_PREFIX):
            return self.null_session_class()
        return super().open_session(app, request)


def init_app(app):
    """Trust the configured proxies, bound ids, bind the limiter (Redis, else the database), add the headers."""
    hops = app.config.get("TRUSTED_PROXY_HOPS") or 0
    if hops > 0:
        # The client's address, scheme and host as the proxies saw them: the login limit keys on the
        # client instead of the proxy, and request.is_secure (HSTS) follows X-Forwarded-Proto.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its rules
    # Shared by every worker and node: counted in one process's memory, N workers allow N times the limit.
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or limit_storage.URI)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["ZARTS_QUEUE_PREFIX"] + ":limits")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # a counter store that is down must not lock everyone out
    limiter.init_app(app)
    app.session_interface = SessionInterface()
    production = app.config.get("ZARTS_ENV") == "production"

    @app.after_request
    def security_headers(response):
        headers = response.headers
        wanted = SECURITY_HEADERS + (HSTS if production and request.is_secure else ())
        present = {name.lower() for name, _ in headers.items()}  # a view's own choice wins
        headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        return response
