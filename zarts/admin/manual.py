"""Manual fallback: an admin enters a client update by hand on the connection page."""
from flask import flash, redirect, render_template, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from ..extensions import db, htmx
from ..models import MetricValue
from ..services import DomainError
from ..services.pipeline import manual
from .blueprint import bp
from .connections import connection_or_404
from .forms import ManualUpdateForm


@bp.route("/connections/<int:connection_id>/manual", methods=["POST"])
def connection_manual(connection_id):
    """Record a hand-entered update through services.manual and show the resulting record."""
    connection = connection_or_404(connection_id)
    form = ManualUpdateForm()
    event = None
    if form.validate_on_submit():
        try:
            event = manual.manual_update(
                connection, current_user, form.reason.data, form.object_type.data, form.external_id.data,
                status=(form.status.data or "").strip() or None, fields=form.record_fields.parsed,
                metrics=form.metrics())
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
    if not htmx:
        flash(f"Manual update recorded as event {event.id}." if event else "; ".join(
            [*form.form_errors, *(f"{f.label.text}: {e}" for f in form for e in f.errors)]),
            "success" if event else "error")
        return redirect(url_for("admin.connection_detail", connection_id=connection.id))
    record = event.normalized_event if event else None
    points = db.session.scalars(db.select(MetricValue).filter_by(normalized_event_id=record.id)).all() if record else []
    page = render_template("admin/_manual_form.html", connection=connection, event=event, record=record,
                           points=points, manual_form=ManualUpdateForm(formdata=None) if event else form)
    return htmx_response(page, trigger={"manual-update-saved": connection.id} if event else None)
