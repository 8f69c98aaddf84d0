"""Manual CSV imports: upload, column mapping, dry run, confirm, progress, row errors."""
from flask import Response, abort, current_app, redirect, render_template, request, stream_with_context, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from .. import uploads
from ..extensions import csrf, db, htmx
from ..models import CsvImport
from ..services import DomainError
from ..services.imports import csv_import, csv_parse
from ..services.mapping import csv_columns, csv_values
from ..services.mapping.versions import effective_mapping
from .blueprint import bp


def import_or_404(import_id):
    """The import, or a 404."""
    return db.session.get(CsvImport, import_id) or abort(404)


def _list_page(error=None, status=200, selected=None):
    before = request.args.get("before", type=int)
    rows = csv_import.recent_imports(before_id=before)
    return render_template("admin/imports.html", imports=rows, connections=csv_import.csv_connections(),
                           selected=selected or request.args.get("connection", type=int), error=error,
                           max_mb=current_app.config["CSV_MAX_BYTES"] / 1048576,
                           older=rows[-1].id if len(rows) == 50 else None), status


@bp.route("/imports")
def imports():
    """Recent imports and the upload form."""
    return _list_page()


@csrf.exempt  # uploads.read_upload checks it after setting the size limit (webhooks keep theirs)
@bp.route("/imports", methods=["POST"])
def import_upload():
    """Store an uploaded file and go to its column mapping."""
    connection_id = None  # the form cannot be read before the size limit is set
    try:
        form, upload = uploads.read_upload()
        connection_id = form.get("connection_id", type=int)
        imp = csv_import.upload(connection_id, upload.filename, upload.stream, current_user)
    except uploads.UploadRefused as exc:
        return _list_page(exc.message, _status(exc.status), connection_id)
    except DomainError as exc:
        return _list_page(str(exc), _status(413 if isinstance(exc, csv_parse.FileTooLarge) else 400), connection_id)
    target = url_for("admin.import_detail", import_id=imp.id)
    return htmx_response(redirect=target) if htmx else redirect(target)


def _status(code):
    """htmx does not swap error answers, so it gets a 200 with the message."""
    return 200 if htmx else code


@bp.route("/imports/<int:import_id>")
def import_detail(import_id):
    """One import: the column mapping, the dry run, the progress or the result; the panel alone for htmx."""
    imp = import_or_404(import_id)
    if htmx and request.args.get("part") == "panel":
        return _panel(imp)
    return render_template("admin/import_detail.html", **_panel_context(imp))


def _panel_context(imp, section=None, errors=(), edit=False):
    section = section or csv_import.proposed_section(imp)
    used = {section.get("key"), *(s.get("column") for s in section["columns"].values())}
    dry_counts = csv_import.dry_run_counts(imp.counts or {})
    return {
        "imp": imp, "section": section, "errors": list(errors), "edit": edit,
        "preview": csv_import.preview_rows(imp) if imp.status in ("uploaded", "dry_run") else [],
        "unused": [h for h in imp.headers if h not in used], "types": csv_columns.TYPES,
        "earlier": csv_import.earlier_import(imp), "progress": csv_import.progress(imp),
        "stalled": csv_import.is_stalled(imp), "dry_counts": dry_counts,
        "importable": csv_import.importable_rows(dry_counts),
        "encoding_name": csv_parse.ENCODINGS.get(imp.encoding, imp.encoding),
        "delimiter_name": csv_parse.DELIMITER_NAMES.get(imp.delimiter, imp.delimiter),
    }


def _panel(imp, **kwargs):
    body = render_template("admin/_import_panel.html", **_panel_context(imp, **kwargs))
    finished = imp.status in ("dry_run", "done", "failed")
    return htmx_response(body, trigger={"csv-import-changed": imp.id} if finished else None)


def _section_from_form(imp, form):
    """The csv section the mapping form describes."""
    columns = {}
    for target in csv_columns.targets(effective_mapping(imp.connection)):
        kind = form.get(f"type-{target}", "text")
        spec = {"column": form.get(f"col-{target}") or None, "type": kind, "required": form.get(f"req-{target}") == "1"}
        if kind == "enum":
            spec["values"] = [v.strip() for v in form.get(f"values-{target}", "").split(",") if v.strip()]
        columns[target] = spec
    decimal = form.get("decimal", "auto")
    return {"key": form.get("key") or None, "columns": columns, "ignore": form.getlist("ignore"),
            "day_first": form.get("day_first") == "1", "decimal": decimal if decimal in csv_values.DECIMALS else "auto"}


@bp.route("/imports/<int:import_id>/check", methods=["POST"])
def import_check(import_id):
    """Save the column mapping and run the dry run (a job; the panel polls until it is done)."""
    imp = import_or_404(import_id)
    section = _section_from_form(imp, request.form)
    try:
        csv_import.start_check(imp, section, current_user)
    except DomainError as exc:
        db.session.rollback()
        imp = import_or_404(import_id)
        if not htmx:
            return render_template("admin/import_detail.html",
                                   **_panel_context(imp, section, [str(exc)], edit=True)), 400
        return _panel(imp, section=section, errors=[str(exc)], edit=True)
    db.session.expire_all()
    return _panel(imp) if htmx else redirect(url_for("admin.import_detail", import_id=imp.id))


@bp.route("/imports/<int:import_id>/confirm", methods=["POST"])
def import_confirm(import_id):
    """Import the checked file (a job); an already imported file needs the explicit confirmation."""
    return _act(import_id, lambda imp: csv_import.confirm(imp, current_user, force=request.form.get("force") == "1"))


@bp.route("/imports/<int:import_id>/resume", methods=["POST"])
def import_resume(import_id):
    """Hand a stalled pass to a job again."""
    return _act(import_id, lambda imp: csv_import.resume(imp, current_user))


def _act(import_id, action):
    imp = import_or_404(import_id)
    try:
        action(imp)
    except DomainError as exc:
        db.session.rollback()
        imp = import_or_404(import_id)
        if not htmx:
            return render_template("admin/import_detail.html", **_panel_context(imp, errors=[str(exc)])), 400
        return _panel(imp, errors=[str(exc)])
    db.session.expire_all()
    return _panel(imp) if htmx else redirect(url_for("admin.import_detail", import_id=imp.id))


@bp.route("/imports/<int:import_id>/errors.csv")
def import_errors(import_id):
    """The row errors as a CSV download (cells that could run as spreadsheet formulas are escaped)."""
    imp = import_or_404(import_id)
    name = f"import-{imp.id}-row-errors.csv"
    return Response(stream_with_context(csv_import.errors_csv(imp)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "X-Content-Type-Options": "nosniff"})
