"""Inline actions on one event: retry now, ignore, replay, resolve manually (htmx, audited).

Each answers an htmx request with the fragment it came from (the explorer's row or the detail's
status panel) and an htmx event; a plain form post is redirected to the detail page.
Domain errors come back inside the fragment with status 200, as htmx does not swap 4xx.
"""
from flask import flash, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from ..extensions import db, htmx
from ..services import DomainError
from ..services.console import events as event_service
from ..services.pipeline import replay
from .blueprint import bp
from .events import event_or_404

ACTIONS = {  # name: (service, htmx event, what was done)
    "retry": (replay.retry_now, "event-retried", "Retried"),
    "ignore": (replay.ignore, "event-ignored", "Ignored"),
    "replay": (replay.replay_event, "event-replayed", "Replayed"),
    "resolve": (replay.resolve_manually, "event-resolved", "Resolved by hand"),
}
FRAGMENTS = {"row": "admin/_event_row.html", "panel": "admin/_event_status.html"}


@bp.route("/events/<int:event_id>/retry", methods=["POST"])
def event_retry(event_id):
    """Run a failed or waiting event again now."""
    return _act(event_id, "retry")


@bp.route("/events/<int:event_id>/ignore", methods=["POST"])
def event_ignore(event_id):
    """Ignore an event on purpose, with a reason."""
    return _act(event_id, "ignore")


@bp.route("/events/<int:event_id>/replay", methods=["POST"])
def event_replay(event_id):
    """Normalize an event again from its raw bytes."""
    return _act(event_id, "replay")


@bp.route("/events/<int:event_id>/resolve", methods=["POST"])
def event_resolve(event_id):
    """Close a failed event an admin handled by hand, with a reason."""
    return _act(event_id, "resolve")


def _act(event_id, name):
    service, trigger, message = ACTIONS[name]
    event = event_or_404(event_id)
    reason = request.form.get("reason", "")
    error = None
    try:
        options = {"mapping": request.form.get("mapping", "current")} if name == "replay" else {}
        service(event, current_user, reason, shown_status=request.form.get("shown_status"), **options)
    except DomainError as exc:
        db.session.rollback()
        error = str(exc)
    if not htmx:
        flash(f"Event {event_id}: {error}" if error else f"Event {event_id}: {message.lower()}.",
              "error" if error else "success")
        return redirect(url_for("admin.event_detail", event_id=event_id))
    template = FRAGMENTS.get(request.form.get("ctx"), FRAGMENTS["row"])
    event = event_service.get_event(event_id)  # as it is now: in-process jobs may have run already
    body = render_template(template, event=event, error=error, failed_action=name if error else None,
                           reason=reason, done=None if error else message)
    if error:
        return body
    return htmx_response(body, trigger={trigger: event_id, "event-changed": event_id})
