"""Event explorer and event detail: filters in the URL, keyset pages, the audited raw view."""
import json

from flask import abort, current_app, render_template, request
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from ..extensions import htmx
from ..services import DomainError
from ..services.console import events as event_service
from ..services.console import explorer
from ..services.pipeline import failures, replay
from .blueprint import bp

IN_FLIGHT = ("received", "queued", "processing")  # the status panel polls while an event is here


@bp.app_template_filter("compact_json")
def compact_json(value):
    """One-line JSON as plain text: autoescaped where rendered, never marked safe."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)


@bp.app_template_filter("pretty_json")
def pretty_json(value):
    """Indented JSON as plain text for <pre> blocks: autoescaped, never marked safe."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@bp.app_template_global("event_actions_for")
def event_actions_for(event):
    """The inline actions to offer for an event (the services decide which are allowed)."""
    return replay.available_actions(event)


@bp.app_template_global("event_in_flight")
def event_in_flight(event):
    """True while a worker still has to pick the event up or finish it."""
    return event.status in IN_FLIGHT


@bp.app_template_global("attempts_text")
def attempts_text(event):
    """Attempts as the admin should read them: out of how many, or why no more are made."""
    limit = event.connection.retry_max_attempts
    if failures.failed_for_good(event):
        return f"{event.attempts}: not retried, permanent error (the same payload would fail again; fix the cause, then replay)"
    if event.status == "dead_lettered":
        return f"{event.attempts} of {limit}: no more attempts"
    if event.status in IN_FLIGHT or event.status == "retry_scheduled":
        return f"{event.attempts} of {limit}"
    return str(event.attempts)


def page_size():
    """Rows per page of the admin lists (ADMIN_PAGE_SIZE, default 50)."""
    return current_app.config.get("ADMIN_PAGE_SIZE", explorer.PAGE_SIZE)


def event_or_404(event_id):
    """The event with its connection loaded, or a 404."""
    return event_service.get_event(event_id) or abort(404)


@bp.route("/events")
def events():
    """The explorer; an htmx "load more" request gets the next rows only."""
    filters, errors = explorer.parse_filters(request.args)
    rows, next_cursor = [], None
    if not errors:
        try:
            rows, next_cursor = explorer.page(filters, request.args.get("cursor"), page_size())
        except DomainError as exc:
            errors.append(str(exc))
    context = {"filters": filters, "errors": errors, "rows": rows, "next_cursor": next_cursor}
    if htmx and request.args.get("cursor"):
        return render_template("admin/_event_page.html", **context)
    return render_template("admin/events.html", choices=explorer.choices(), form=request.args, **context)


@bp.route("/events/<int:event_id>")
def event_detail(event_id):
    """One event: status and actions, payload summary, attempts, the record, admin actions."""
    event = event_or_404(event_id)
    part = request.args.get("part") if htmx else None
    if part == "status":  # the panel polls itself while the event is in flight
        body = render_template("admin/_event_status.html", event=event, done=request.args.get("done", "")[:40])
        return body if event.status in IN_FLIGHT else htmx_response(body, trigger={"event-changed": event.id})
    if part == "history":
        return render_template("admin/_event_history.html", event=event, **event_service.detail(event))
    if part == "row":  # a row polls itself after an inline action, until the event is final
        return render_template("admin/_event_row.html", event=event, done=request.args.get("done", "")[:40])
    return render_template("admin/event_detail.html", event=event, **event_service.detail(event))


@bp.route("/events/<int:event_id>/raw", methods=["POST"])
def event_raw(event_id):
    """The raw bytes, on request only and audited (a POST, so no link or prefetch can trigger it)."""
    event = event_or_404(event_id)
    raw = event_service.view_raw(event, current_user)
    if not htmx:
        return render_template("admin/event_raw.html", event=event, raw=raw)
    body = render_template("admin/_event_raw.html", event=event, raw=raw)
    return htmx_response(body, trigger={"event-raw-viewed": event.id, "event-changed": event.id})
