"""The health board: one self-refreshing card per connection, filtered from the URL."""
from flask import abort, render_template, request

from .. import workers
from ..extensions import htmx
from ..services.console import board
from .blueprint import bp


@bp.route("/")
def home():
    """The health board: filters in the query string, open tasks in the header."""
    filters = board.Filters.from_args(request.args)
    return render_template("admin/home.html", cards=board.cards(filters), filters=filters,
                           options=board.filter_options(), open_tasks=board.open_task_count(),
                           workers=workers.status())


@bp.route("/connections/<int:connection_id>/card")
def connection_card(connection_id):
    """One card: the fragment for htmx polling, the board with just this card otherwise."""
    card = board.card(connection_id) or abort(404)
    if htmx:
        return render_template("admin/_connection_card.html", card=card)
    return render_template("admin/home.html", cards=[card], filters=board.Filters(), single=True,
                           options=board.filter_options(), open_tasks=board.open_task_count())
