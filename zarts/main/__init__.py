"""Site-wide routes: the role-aware home redirect and /healthz."""
from .routes import bp  # noqa: F401
