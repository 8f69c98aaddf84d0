"""Optional per-connection cap on accepted deliveries (fixed one-minute windows).

Counted in Redis when REDIS_URL is set, so every web node shares one count; in memory otherwise.
"""
import math
import time

from flask import current_app
from limits import RateLimitItemPerMinute, storage, strategies


class Throttled(Exception):
    """Over the connection's limit; retry_after is whole seconds until the window resets."""

    def __init__(self, retry_after):
        super().__init__(f"rate limit exceeded, retry after {retry_after} s")
        self.retry_after = retry_after


def _limiter():
    app = current_app._get_current_object()
    limiter = app.extensions.get("zarts_webhook_limiter")
    if limiter is None:
        uri = app.config.get("REDIS_URL") or "memory://"
        options = {"socket_connect_timeout": 1, "socket_timeout": 1} if uri.startswith("redis") else {}
        limiter = strategies.FixedWindowRateLimiter(storage.storage_from_string(uri, **options))
        app.extensions["zarts_webhook_limiter"] = limiter
    return limiter


def hit(connection_id, per_minute):
    """Count one delivery; raise Throttled when over per_minute. A broken counter lets it through."""
    if not per_minute:
        return
    item = RateLimitItemPerMinute(per_minute)
    key = (current_app.config["ZARTS_QUEUE_PREFIX"], "webhook", str(connection_id))
    try:
        limiter = _limiter()
        if limiter.hit(item, *key):
            return
        reset = limiter.get_window_stats(item, *key).reset_time
    except Exception:  # an unreachable Redis must not turn deliveries away
        current_app.logger.warning("webhook rate limit not checked: counter unavailable")
        return
    raise Throttled(max(1, math.ceil(reset - time.time())))
