"""Client portal: everything under /portal requires the client role and is scoped to its client."""
from flask import Blueprint

from ..auth import client_required

bp = Blueprint("portal", __name__)


@bp.before_request
@client_required
def require_client():
    """Every portal route is gated here, so a new route cannot forget the check."""


from . import routes  # noqa: E402,F401
