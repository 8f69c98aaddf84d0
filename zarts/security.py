"""HTTP hardening: security headers on every response, rate limits where guessing pays."""
from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# Only our own files: htmx and CSS are served from /static, and no template has inline script.
CSP = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'self'",
    "form-action 'self'", "frame-ancestors 'none'",
))
LOGIN_LIMITS = "10 per minute; 100 per hour"

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def init_app(app):
    """Bind the limiter (Redis-backed when REDIS_URL is set) and add the headers."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["ZARTS_QUEUE_PREFIX"] + ":limits")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # Redis down must not lock everyone out
    limiter.init_app(app)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("ZARTS_ENV") == "production" and request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
