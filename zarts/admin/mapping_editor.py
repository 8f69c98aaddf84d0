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
from ..services.mapping import drift, shapes, studio, versions
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
    indexed = dict(shapes.event_types(connection.id))
    mapped = (versions.effective_mapping(connection).get("events") or {})
    context = {"connection": connection, "form": form, "versions": history,
               "in_force": history[0]["version"] if history else None,
               "studio_types": sorted(set(indexed) | {t for t in mapped if t != "*"}), "indexed": indexed,
               "studio_type": request.values.get("event_type") or next(iter(sorted(indexed)), ""), **extra}
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


@bp.route("/connections/<int:connection_id>/mapping/paths")
def connection_mapping_paths(connection_id):
    """The field picker: the paths seen in this event type's deliveries, their types, presence and a
    masked example, each with the targets it can be mapped into."""
    connection = connection_or_404(connection_id)
    event_type = request.args.get("event_type", "")
    count, rows = shapes.paths_of(connection.id, event_type)
    return render_template("admin/_mapping_paths.html", connection=connection, event_type=event_type, count=count,
                           rows=rows, targets=studio.TARGETS)


def _draft(connection):
    """The draft in the editor's textarea (parsed), or a DomainError."""
    try:
        draft = json.loads(request.form.get("mapping_json", ""))
    except (ValueError, RecursionError) as exc:
        raise DomainError(f"the mapping in the editor is not valid JSON: {exc}") from None
    if not isinstance(draft, dict):
        raise DomainError("the mapping in the editor must be a JSON object")
    return draft


def _with_draft(connection, draft, **extra):
    """The editor showing a changed draft (not saved)."""
    form = _form(connection, request.form)
    form.mapping_json.data = json.dumps(draft, indent=2, sort_keys=True)
    return _editor(connection, form, drafted=True, **extra)


@bp.route("/connections/<int:connection_id>/mapping/pick", methods=["POST"])
def connection_mapping_pick(connection_id):
    """Map a clicked path into the draft's rule for the event type (the JSON editor shows the result)."""
    connection = connection_or_404(connection_id)
    try:
        draft = studio.pick(_draft(connection), request.form.get("event_type", ""), request.form.get("path", ""),
                            request.form.get("target", ""), request.form.get("name") or None)
    except DomainError as exc:
        return _editor(connection, _form(connection, request.form), studio_error=str(exc))
    return _with_draft(connection, draft, picked=(request.form.get("path"), request.form.get("target")))


@bp.route("/connections/<int:connection_id>/mapping/suggest", methods=["POST"])
def connection_mapping_suggest(connection_id):
    """Put a rule suggested from the stored samples into the draft (kept if the type has one), with why."""
    connection = connection_or_404(connection_id)
    event_type = request.form.get("event_type", "")
    try:
        found, count = studio.suggestions(connection, event_type)
        draft = studio.with_suggestion(_draft(connection), event_type, found)
    except (DomainError, ValueError) as exc:
        return _editor(connection, _form(connection, request.form), studio_error=str(exc))
    return _with_draft(connection, draft, suggested=found, suggested_from=count)


@bp.route("/connections/<int:connection_id>/mapping/preview-many", methods=["POST"])
def connection_mapping_preview_many(connection_id):
    """What the draft would do to the newest stored events of the type: created, updated, unchanged,
    failed (why) or ignored. Nothing is written."""
    connection = connection_or_404(connection_id)
    event_type = request.form.get("event_type", "")
    result = error = None
    try:
        result = studio.preview_many(connection, _draft(connection), event_type)
    except DomainError as exc:
        error = str(exc)
    db.session.rollback()
    return render_template("admin/_mapping_preview_many.html", result=result, error=error, event_type=event_type,
                           outcomes=studio.OUTCOMES)
