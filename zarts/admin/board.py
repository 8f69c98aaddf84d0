"""The health board: one card per connection."""
from flask import render_template

from ..services import board
from . import bp


@bp.route("/")
def home():
    """The health board."""
    return render_template("admin/home.html", connections=board.connections_for_board())
