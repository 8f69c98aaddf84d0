"""Sync connectors in the admin: their settings, the test sync (one page, nothing stored) and the runs."""
from flask import flash, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db, htmx
from ..models import HealthChange
from ..services import DomainError
from ..services.sync import preview, runs, settings
from .blueprint import bp
from .connections import connection_or_404
from .forms import SyncSettingsForm

HEALTH_CHANGES_SHOWN = 10


@bp.route("/connections/<int:connection_id>/test-sync", methods=["POST"])
def connection_test_sync(connection_id):
    """Read one bounded page from the source and show what a sync would do with it (nothing stored)."""
    connection = connection_or_404(connection_id)
    result = error = None
    try:
        result = preview.test_sync(connection, current_user)
    except DomainError as exc:
        db.session.rollback()
        error = str(exc)
    if not htmx:
        flash(error or _summary(result), "error" if error or result["error"] else "success")
        return redirect(url_for("admin.connection_syncs", connection_id=connection.id))
    page = render_template("admin/_sync_result.html", connection=connection, result=result, sync_error=error)
    return htmx_response(page, trigger={"test-sync-run": connection.id} if result else None)


@bp.route("/connections/<int:connection_id>/syncs")
def connection_syncs(connection_id):
    """The connection's sync runs, newest first (polls while one is open); the table alone for htmx."""
    connection = connection_or_404(connection_id)
    before = request.args.get("before", type=int)
    recent = runs.recent(connection.id, before_id=before)
    context = {"connection": connection, "runs": recent, "before": before,
               "next_before": recent[-1].id if len(recent) == runs.LIST_LIMIT else None,
               "polling": any(not run.finished for run in recent)}
    if htmx and htmx.target == "sync-runs":
        return render_template("admin/_sync_runs.html", **context)
    changes = db.session.scalars(select(HealthChange).where(HealthChange.connection_id == connection.id)
                                 .order_by(HealthChange.id.desc()).limit(HEALTH_CHANGES_SHOWN)).all()
    extra = sync_settings_context(connection) if connection.provider.kind == "sync" else {}
    return render_template("admin/sync_runs.html", health_changes=changes, **{**context, **extra})


def _summary(result):
    if result["error"]:
        return f"Test sync failed: {result['error']}"
    return (f"Test sync read {result['fetched']} record(s): {result['created']} new, {result['updated']} updated, "
            f"{result['unchanged']} unchanged, {result['failed']} failed, {result['duplicate']} duplicate, "
            f"{result['ignored']} ignored. Nothing was stored.")


def sync_settings_context(connection, form=None, saved=False):
    """What admin/_sync_settings.html needs: the form, and the configuration a run would use."""
    if form is None:
        form = SyncSettingsForm(formdata=None)
        form.fill(connection.sync_config)
    try:
        config, problem = settings.effective(connection), None
    except settings.ConfigProblem as exc:
        config, problem = None, str(exc)
    return {"connection": connection, "settings_form": form, "settings_saved": saved, "effective": config,
            "config_problem": problem, "schedule_seconds": settings.schedule_seconds(connection),
            "defaults": {k: v for k, v in settings.defaults(connection).items() if k != "endpoint"}}


@bp.route("/connections/<int:connection_id>/sync-settings", methods=["POST"])
def connection_sync_settings(connection_id):
    """Save a sync connector's endpoint, credential and other settings (audited; the credential is
    never shown); optionally restart from the beginning of the source."""
    connection = connection_or_404(connection_id)
    form = SyncSettingsForm()
    saved = False
    if form.validate_on_submit():
        reason = form.reason.data or ""
        try:
            settings.configure(connection, form.overrides(), current_user, credential=form.credential.data or None,
                                  reason=reason, replace=True)
            if form.reset_cursor.data:
                settings.reset_cursor(connection, current_user, reason)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            saved = True
            form = None  # show what is stored now
    if not htmx:
        errors = form.form_errors + [e for errs in form.errors.values() for e in errs] if form else []
        flash("; ".join(errors) if errors else "Sync settings saved.", "error" if errors else "success")
        return redirect(url_for("admin.connection_syncs", connection_id=connection.id))
    page = render_template("admin/_sync_settings.html", **sync_settings_context(connection, form, saved))
    return htmx_response(page, trigger={"sync-settings-saved": connection.id} if saved else None)
