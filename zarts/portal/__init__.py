"""Client portal: everything under /portal requires the client role and is scoped to its client."""
from . import imports  # noqa: F401  (its routes join bp)
from .routes import bp  # noqa: F401
