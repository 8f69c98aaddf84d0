"""Admin blueprint: everything under /admin requires the admin role.

Topic modules: board (health board), events (explorer, detail, inline actions, bulk retry),
connections (setup, secrets, lifecycle, onboarding, mapping editor), tasks, audit_log.
"""
from flask import Blueprint

from ..auth import admin_required

bp = Blueprint("admin", __name__)


@bp.before_request
@admin_required
def require_admin():
    """Every admin route is gated here, so a new route cannot forget the check."""


from . import audit_log, board, bulk, connections, event_actions, events, imports, metrics, tasks  # noqa: E402,F401
from . import manual, mapping_editor, onboarding, sync  # noqa: E402,F401  (connection setup and onboarding)
