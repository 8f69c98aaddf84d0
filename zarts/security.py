"""HTTP hardening: security headers on every response, rate limits where guessing pays."""
from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# Only our own files: htmx and CSS are served from /static, and no template has inline script.
CSP = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'self'",
    "form-action 'self'", "frame-ancestors 'none'",
))
LOGIN_LIMITS = "10 per minute; 100 per hour"
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


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions for people; a webhook delivery gets none (nor the cost of opening one)."""

    def open_session(self, app, request):
        if request.path.startswith(WEBHOOK_PATH_PREFIX):
            return self.null_session_class()
        return super().open_session(app, request)


def init_app(app):
    """Bind the limiter (Redis-backed when REDIS_URL is set) and add the headers."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["ZARTS_QUEUE_PREFIX"] + ":limits")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # Redis down must not lock everyone out
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
