"""A client's digest: the admin's preview and the per-client switch."""
from .blueprint import bp  # noqa: F401
