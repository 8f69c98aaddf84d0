"""Site-wide routes: the role-aware home redirect and /healthz."""
from . import unsubscribe  # noqa: F401
from .routes import bp  # noqa: F401
