"""Provider-facing webhook receipt: no session, no CSRF, JSON only."""
from .routes import bp  # noqa: F401
