"""Portal pages: the signed-in client's cards, notes, incidents and report (their uploads: imports.py)."""
from flask import Blueprint, abort, g, render_template, request
from flask_login import current_user

from ..auth import client_required
from ..errors import render_error
from ..extensions import htmx
from ..services import DomainError
from ..services.imports import client_uploads
from ..services.proof import portal

bp = Blueprint("portal", __name__)


@bp.before_request
@client_required
def require_client():
    """Every portal route is gated here, so a new route cannot forget the check."""
    if not htmx:  # the navigation's "Upload a file" link; partials (polls) have no navigation
        g.portal_uploads = bool(client_uploads.upload_connections(current_user.client_id))


def _page_context(client_id):
    return {
        "cards": portal.card_views(client_id),
        "notes": portal.notes(client_id),
        "incidents": portal.incidents(client_id),
    }



@bp.route("/")
def home():
    """The client's cards, report notes and open incidents."""
    return render_template("portal/home.html", client=current_user.client, **_page_context(current_user.client_id))


@bp.route("/cards")
def cards():
    """The card grid as a fragment; it polls itself."""
    return render_template("portal/_cards.html", cards=portal.card_views(current_user.client_id), polling=True)


@bp.route("/report")
def report():
    """The client's printable monthly report (?month=YYYY-MM, default this month)."""
    try:
        month = portal.parse_month(request.args.get("month", ""))
    except DomainError as exc:
        return render_error(400, str(exc))
    return render_template("portal/report.html", client=current_user.client,
                           report=portal.report(current_user.client_id, month))


@bp.route("/cards/<int:card_id>/how")
def how_we_measure(card_id):
    """A card's "How we measure this" panel (htmx), in plain words; another client's card is not found."""
    views = portal.card_views(current_user.client_id, card_id=card_id)
    if not views:
        abort(404)
    return render_template("portal/_how.html", view=views[0], how=portal.how_we_measure(views[0]))


@bp.route("/cards/<int:card_id>")
def card(card_id):
    """One card; another client's card id is simply not found."""
    views = portal.card_views(current_user.client_id, card_id=card_id)
    if not views:
        abort(404)
    return render_template("portal/_card.html", view=views[0])
