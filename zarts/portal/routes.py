"""Portal pages."""
from flask import render_template
from flask_login import current_user

from . import bp


@bp.route("/")
def home():
    """The client's cards and report notes."""
    return render_template("portal/home.html", client=current_user.client)
