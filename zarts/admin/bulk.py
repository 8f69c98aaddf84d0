"""Bulk retry from the explorer: count what the filter matches, confirm, then watch a job run."""
from flask import abort, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from ..extensions import htmx
from ..services import DomainError
from ..services.console import bulk, explorer
from .blueprint import bp


@bp.route("/events/bulk-retry")
def bulk_retry_count():
    """How many events the current filter would retry, with a confirm button."""
    filters, errors = explorer.parse_filters(request.args)
    count = None if errors else bulk.retry_count(filters)
    template = "admin/_bulk_count.html" if htmx else "admin/bulk_count.html"
    return render_template(template, filters=filters, errors=errors, count=count)


@bp.route("/events/bulk-retry", methods=["POST"])
def bulk_retry():
    """Start a bulk retry of everything the posted filter matches."""
    filters, errors = explorer.parse_filters(request.form)
    operation = None
    if not errors:
        try:
            operation = bulk.start_retry(filters, current_user)
        except DomainError as exc:
            errors.append(str(exc))
    if operation is None:
        template = "admin/_bulk_count.html" if htmx else "admin/bulk_count.html"
        return render_template(template, filters=filters, errors=errors, count=None)
    if not htmx:
        return redirect(url_for("admin.bulk_operation", operation_id=operation.id))
    body = render_template("admin/_bulk_progress.html", operation=operation)
    return htmx_response(body, trigger={"bulk-started": operation.id})


@bp.route("/bulk/<int:operation_id>")
def bulk_operation(operation_id):
    """A bulk operation's progress; the htmx partial polls itself until the job is finished."""
    operation = bulk.get(operation_id) or abort(404)
    if not htmx:
        return render_template("admin/bulk_operation.html", operation=operation)
    body = render_template("admin/_bulk_progress.html", operation=operation)
    return htmx_response(body, trigger={"bulk-finished": operation.id}) if operation.finished else body
