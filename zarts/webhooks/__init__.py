"""Provider-facing webhook receipt: no session, no CSRF; JSON events, and CSV files for CSV connections."""
from .routes import bp  # noqa: F401
