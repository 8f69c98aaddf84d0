"""The admin Blueprint and its gate; the topic modules add their routes to it."""
from flask import Blueprint

from ..auth import admin_required

bp = Blueprint("admin", __name__)


@bp.before_request
@admin_required
def require_admin():
    """Every admin route is gated here, so a new route cannot forget the check."""
