"""The health board: one self-refreshing card per connection, filtered from the URL."""
from flask import abort, redirect, render_template, request, url_for

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
    """One card: the fragment for htmx polling; otherwise the board of its client, at the card."""
    card = board.card(connection_id) or abort(404)
    if htmx:
        return render_template("admin/_connection_card.html", card=card)
    return redirect(url_for("admin.home", client=card.connection.client_id, _anchor=f"connection-{connection_id}"))
