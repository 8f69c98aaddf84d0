"""The mapping editor: edit a connection's mapping as JSON, preview it on a stored event, save a version."""
import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user
from wtforms import SelectChoice

from ..extensions import db, htmx
from ..models import DriftFinding
from ..services import DomainError
from ..services.health import checks
from ..services.mapping import drift, versions
from .blueprint import bp
from .connections import connection_or_404
from .forms import MappingForm


def _form(connection, formdata=None):
    form = MappingForm(formdata=formdata)
    if formdata is None:
        form.mapping_json.data = json.dumps(versions.effective_mapping(connection), indent=2, sort_keys=True)
    events = versions.preview_events(connection)
    form.event_id.choices = [SelectChoice(e.id, f"#{e.id} · {e.event_type or 'no type'} · {e.status.replace('_', ' ')}")
                             for e in events]
    return form


def _editor(connection, form, **extra):
    history = versions.history(connection)
    context = {"connection": connection, "form": form, "versions": history,
               "in_force": history[0]["version"] if history else None, **extra}
    return render_template("admin/_mapping_editor.html" if htmx else "admin/mapping.html", **context)


@bp.route("/connections/<int:connection_id>/mapping", methods=["GET", "POST"])
def connection_mapping(connection_id):
    """GET: the editor with the mapping in force. POST: validate and save it as the next version."""
    connection = connection_or_404(connection_id)
    if request.method == "GET":
        return _editor(connection, _form(connection))
    form = _form(connection, request.form)
    saved = None
    if form.validate_on_submit():
        try:
            saved = versions.save_mapping(connection, form.mapping_json.parsed, current_user, form.reason.data or "")
        except DomainError as exc:
            db.session.rollback()
            form.mapping_json.errors.extend(str(exc).split("; "))
    page = _editor(connection, form, saved=saved)
    return htmx_response(page, trigger={"mapping-saved": connection.id} if saved else None)


@bp.route("/connections/<int:connection_id>/mapping/restore", methods=["POST"])
def connection_mapping_restore(connection_id):
    """Put an earlier version back in force, as a new version (audited like any save)."""
    connection = connection_or_404(connection_id)
    saved = error = None
    try:
        saved = versions.restore(connection, request.form.get("version", type=int, default=-1), current_user,
                                 request.form.get("reason", ""))
    except DomainError as exc:
        db.session.rollback()
        error = str(exc)
    page = _editor(connection, _form(connection), saved=saved, restore_error=error)
    return htmx_response(page, trigger={"mapping-saved": connection.id} if saved else None)


@bp.route("/connections/<int:connection_id>/mapping/preview", methods=["POST"])
def connection_mapping_preview(connection_id):
    """Dry run of the mapping in the textarea on one stored event: the normalized record (sensitive
    values masked) or the exact error."""
    return _preview(connection_or_404(connection_id), unmasked=False)


@bp.route("/connections/<int:connection_id>/mapping/preview/unmasked", methods=["POST"])
def connection_mapping_preview_unmasked(connection_id):
    """The same dry run with provider values unmasked: on request only, recorded in the audit log."""
    return _preview(connection_or_404(connection_id), unmasked=True)


def _preview(connection, unmasked):
    form = _form(connection, request.form)
    result = error = None
    if not form.validate_on_submit():
        error = "; ".join(e for field in (form.mapping_json, form.event_id) for e in field.errors) or "check the form"
    elif not form.event_id.data:
        error = "choose a stored event to preview against"
    else:
        try:
            result = versions.preview_against(connection, form.mapping_json.parsed, form.event_id.data,
                                              current_user, unmasked=unmasked)
        except DomainError as exc:
            error = str(exc)
    db.session.rollback()  # a preview writes nothing (an unmasked one's audit row is committed already)
    if not htmx:
        return _editor(connection, form, previewed=True, result=result, error=error)
    body = render_template("admin/_mapping_preview.html", connection=connection, form=form, result=result, error=error)
    return htmx_response(body, trigger={"mapping-preview-unmasked": connection.id} if unmasked and result else None)


@bp.route("/drift/<int:finding_id>/accept", methods=["POST"])
def drift_accept(finding_id):
    """The new shape is expected: close the finding and its task, and recompute the connection's health."""
    finding = db.session.get(DriftFinding, finding_id) or abort(404)
    try:
        drift.accept(finding, current_user, request.form.get("reason", "").strip())
        checks.check([finding.connection_id])
        flash("Drift accepted: the new shape is expected.", "success")
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.connection_detail", connection_id=finding.connection_id, _anchor="drift"))
