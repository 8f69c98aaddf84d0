"""/login and /logout."""
import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..security import ACCOUNT_LOGIN_LIMITS, LOGIN_LIMITS, limiter, submitted_account
from ..services.setup import accounts
from .forms import LoginForm

bp = Blueprint("auth", __name__)


def _safe_next(target):
    """Only same-site relative paths may be redirect targets after login."""
    if not target:
        return None
    if any(unicodedata.category(char) == "Cc" for char in target):  # CR/LF cannot go into a Location header
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMITS, methods=["POST"])
@limiter.limit(ACCOUNT_LOGIN_LIMITS, key_func=submitted_account, methods=["POST"])
def login():
    """Show the login form; on valid credentials send the user home."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or url_for("main.index"))
        form.password.errors.append("Email or password is not right.")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session (POST only, so a link cannot log anyone out), and every copy of it."""
    accounts.revoke_sessions(current_user)
    db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
