"""Provider-facing webhook receipt: no session, no CSRF, JSON only."""
from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from . import routes  # noqa: E402,F401
