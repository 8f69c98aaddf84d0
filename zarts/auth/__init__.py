"""Login, logout and the role gates every other blueprint uses."""
import re
from functools import wraps

from flask import abort, redirect, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from ..extensions import db, login_manager
from ..security import MAX_ID

SESSION_ID = re.compile(r"([0-9]{1,19}):([0-9]{1,9})")  # User.get_id(): "<id>:<session version>"


def init_app(app):
    """Wire Flask-Login to the users table and to htmx-aware redirects."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id):
    """The user of a session or remember cookie, only while its session version is the current one."""
    from ..models import User

    match = SESSION_ID.fullmatch(user_id or "")
    if match is None or int(match[1]) > MAX_ID:
        return None
    user = db.session.get(User, int(match[1]))
    return user if user is not None and user.session_version == int(match[2]) else None


@login_manager.unauthorized_handler
def unauthorized():
    """Anonymous users go to the login page; htmx requests are told to redirect the page."""
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") == "true":
        return htmx_response("", 401, redirect=target)
    return redirect(target)


def role_required(role):
    """Decorator: logged in with this role, else login (anonymous) or 403 (wrong role)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return unauthorized()
            if current_user.role != role:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required("admin")
client_required = role_required("client")

from .routes import bp  # noqa: E402,F401  (after the gates: routes uses nothing of this module)
