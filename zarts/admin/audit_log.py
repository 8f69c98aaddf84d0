"""The audit log: every admin write, newest first, filtered by actor, action, target and date."""
from flask import render_template, request, url_for
from werkzeug.routing import BuildError

from ..extensions import htmx
from ..services import DomainError
from ..services.console import audit_log as trail
from .blueprint import bp
from .events import page_size

# Where a target_type's rows link to: (endpoint, argument); endpoints not (yet) built are skipped.
TARGET_LINKS = {
    "event": ("admin.event_detail", "event_id"),
    "bulk_operation": ("admin.bulk_operation", "operation_id"),
    "connection": ("admin.connection_detail", "connection_id"),
    "metric": ("admin.metric_edit", "metric_id"),
}


@bp.app_template_global("field_changes")
def field_changes(before, after):
    """An audit row's change as readable fields (see services.console.audit_log.field_changes)."""
    return trail.field_changes(before, after)


@bp.route("/audit")
def audit_log():
    """The audit log; an htmx "load more" request gets the next rows only."""
    filters, errors = trail.parse_filters(request.args)
    rows, next_cursor = [], None
    if not errors:
        try:
            rows, next_cursor = trail.page(filters, request.args.get("cursor"), page_size())
        except DomainError as exc:
            errors.append(str(exc))
    context = {"filters": filters, "errors": errors, "rows": rows, "next_cursor": next_cursor,
               "links": {row.id: _target_url(row) for row in rows}}
    if htmx and request.args.get("cursor"):
        return render_template("admin/_audit_page.html", **context)
    return render_template("admin/audit_log.html", choices=trail.choices(), form=request.args, **context)


def _target_url(row):
    """The admin page of an action's target, or None."""
    endpoint, argument = TARGET_LINKS.get(row.target_type, (None, None))
    if endpoint is None or not row.target_id.isdecimal():
        return None
    try:
        return url_for(endpoint, **{argument: int(row.target_id)})
    except BuildError:
        return None
