"""The client's own CSV uploads: upload, dry run, import, progress; only their own files."""
from flask import abort, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from .. import uploads
from ..extensions import csrf, db, htmx
from ..services import DomainError
from ..services.imports import client_uploads, csv_import
from .routes import bp


def _own(import_id):
    return client_uploads.get(current_user.client_id, import_id) or abort(404)


def _list(error=None, status=200, selected=None):
    connections = client_uploads.upload_connections(current_user.client_id)
    return render_template(
        "portal/imports.html", client=current_user.client, error=error, selected=selected, connections=connections,
        labels={c.id: client_uploads.source_label(c) for c in connections},
        imports=client_uploads.recent(current_user.client_id)), status


@bp.route("/imports")
def imports():
    """Upload a file, and the files this client uploaded before."""
    return _list(selected=request.args.get("connection", type=int))


@csrf.exempt  # uploads.read_upload checks it after setting the size limit
@bp.route("/imports", methods=["POST"])
def import_upload():
    """Store the file and start its dry run; then its page (htmx: its panel) shows the progress."""
    connection_id = None
    try:
        form, upload = uploads.read_upload()
        connection_id = form.get("connection_id", type=int)
        imp = client_uploads.upload(current_user, connection_id, upload.filename, upload.stream)
    except uploads.UploadRefused as exc:
        return _list(exc.message, 200 if htmx else exc.status, connection_id)
    except DomainError as exc:
        return _list(str(exc), 200 if htmx else 400, connection_id)
    target = url_for("portal.import_detail", import_id=imp.id)
    return htmx_response(redirect=target) if htmx else redirect(target)


@bp.route("/imports/<int:import_id>")
def import_detail(import_id):
    """One upload: progress, the dry run's counts and row problems, the result; the panel alone for htmx."""
    imp = _own(import_id)
    if htmx and request.args.get("part") == "panel":
        return render_template("portal/_import.html", **_context(imp))
    return render_template("portal/import_detail.html", client=current_user.client, **_context(imp))


@bp.route("/imports/<int:import_id>/confirm", methods=["POST"])
def import_confirm(import_id):
    """Import the checked file."""
    imp = _own(import_id)
    error = None
    try:
        client_uploads.confirm(current_user, imp)
    except DomainError as exc:
        db.session.rollback()
        error = str(exc)
    db.session.expire_all()
    imp = _own(import_id)
    if htmx:
        return render_template("portal/_import.html", **_context(imp, error))
    if error:
        return render_template("portal/import_detail.html", client=current_user.client, **_context(imp, error)), 400
    return redirect(url_for("portal.import_detail", import_id=imp.id))


def _context(imp, error=None):
    headline, sentence = client_uploads.status_words(imp)
    dry = csv_import.dry_run_counts(imp.counts or {})
    return {"imp": imp, "error": error, "headline": headline, "sentence": sentence,
            "source": client_uploads.source_label(imp.connection),
            "stalled": csv_import.is_stalled(imp), "progress": csv_import.progress(imp), "dry_counts": dry,
            "importable": csv_import.importable_rows(dry)}
