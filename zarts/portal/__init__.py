"""Client portal: everything under /portal requires the client role and is scoped to its client."""
from .routes import bp  # noqa: F401
