"""Connections: list, create, detail, edit, secret rotation. The secret is shown once, never stored in the page."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from ..extensions import db, htmx
from ..models import Client, Connection, HealthChange, User, utcnow
from ..providers import definitions
from ..services import DomainError
from ..services.health import signals
from ..services.mapping import drift
from ..services.setup import connections as connection_service
from ..services.setup import gate, guide, lifecycle, onboarding
from . import reveal
from .blueprint import bp
from .forms import ConnectionForm, LifecycleForm, ManualUpdateForm, RotateForm

NO_STORE = {"Cache-Control": "no-store"}


def connection_or_404(connection_id):
    """The connection with client, provider and owner loaded, or 404."""
    connection = db.session.scalar(
        db.select(Connection).where(Connection.id == connection_id)
        .options(joinedload(Connection.client), joinedload(Connection.provider), joinedload(Connection.owner))
    )
    return connection or abort(404)


def _owner_choices(form):
    admins = db.session.scalars(db.select(User).filter_by(role="admin", active=True).order_by(User.email))
    form.owner_id.choices = [SelectChoice(u.id, u.display_name) for u in admins]


@bp.route("/connections")
def connections():
    """Every connection with its lifecycle, health, owner and onboarding progress."""
    rows = db.session.scalars(
        db.select(Connection).options(joinedload(Connection.client), joinedload(Connection.provider),
                                      joinedload(Connection.owner))
        .order_by(Connection.client_id, Connection.id)
    ).all()
    progress = {c.id: sum(1 for step in gate.steps(c) if step["done"]) for c in rows}
    return render_template("admin/connections.html", connections=rows, progress=progress)


@bp.route("/connections/new", methods=["GET", "POST"])
def connection_new():
    """Create a connection, then go to its page, which shows a generated secret once."""
    form = ConnectionForm()
    form.provider.choices = [SelectChoice(key, shipped["name"]) for key, shipped in definitions().items()]
    form.client.choices = [SelectChoice(c.slug, c.name) for c in db.session.scalars(db.select(Client).order_by(Client.name))]
    _owner_choices(form)
    if not form.is_submitted():
        form.owner_id.data = current_user.id
    if form.validate_on_submit():
        values = form.settings()
        owner = db.session.get(User, values.pop("owner_id"))
        try:
            connection, secret = connection_service.create_connection(
                form.provider.data, form.client.data, owner.email if owner else "", values.pop("reason"),
                values.pop("name"), actor=current_user, settings=values, secret=form.secret.data or None)
            connection_service.commit()
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            if secret is None:  # the provider's own, pasted: nothing to show
                flash("Connection created. Follow the setup guide below.", "success")
            else:
                reveal.hold(connection.id, secret, created=True)
            return _to_detail(connection)
    return render_template("admin/connection_form.html", form=form, connection=None)


@bp.route("/connections/<int:connection_id>")
def connection_detail(connection_id):
    """Everything about one connection: settings, lifecycle, secret state, onboarding, manual fallback.

    A secret issued by the POST that redirected here is shown in this response only."""
    connection = connection_or_404(connection_id)
    secret, created = reveal.take(connection.id)
    if secret is None:
        return _detail_page(connection)
    return htmx_response(_detail_page(connection, new_secret=secret, created=created), 200, NO_STORE)


def _to_detail(connection):
    """Go to the connection's own page (post/redirect/get; for htmx a full navigation there)."""
    url = url_for("admin.connection_detail", connection_id=connection.id)
    if htmx:
        return htmx_response(redirect=url)
    return redirect(url, 303)


def _detail_page(connection, new_secret=None, created=False):
    health_changes = db.session.scalars(
        db.select(HealthChange).filter_by(connection_id=connection.id)
        .order_by(HealthChange.created_at.desc(), HealthChange.id.desc()).limit(5)
    ).all()
    return render_template(
        "admin/connection_detail.html", created=created, health_changes=health_changes,
        rejections=signals.last_rejections(connection.id),
        guide=guide.guide(connection, request.host_url),
        manual_form=ManualUpdateForm(formdata=None), now=utcnow(), drift_findings=drift.open_findings(connection.id),
        **{**secret_context(connection, new_secret), **lifecycle_context(connection), **checklist_context(connection)},
    )


def secret_context(connection, new_secret=None, form=None, error=None, rotated=False):
    """What admin/_secret.html needs; new_secret only in the response that issued it."""
    form = form or RotateForm(formdata=None, overlap_hours=current_app.config["SECRET_ROTATION_OVERLAP_HOURS"])
    return {"connection": connection, "new_secret": new_secret, "rotate_form": form, "secret_error": error,
            "secret_rotated": rotated, "previous_until": connection_service.previous_secret_valid_until(connection)}


def lifecycle_context(connection, error=None, form=None):
    """What admin/_lifecycle.html needs."""
    return {"connection": connection, "targets": lifecycle.allowed_targets(connection),
            "missing": gate.missing(connection), "lifecycle_error": error,
            "lifecycle_form": form or LifecycleForm(formdata=None)}


def checklist_context(connection, error=None, test_result=None):
    """What admin/_checklist.html needs."""
    return {"connection": connection, "steps": gate.steps(connection),
            "review": gate.test_review(connection), "checklist_error": error, "test_result": test_result,
            "testable": connection.lifecycle in onboarding.TESTABLE and connection.provider.kind == "webhook"}


@bp.route("/connections/<int:connection_id>/edit", methods=["GET", "POST"])
def connection_edit(connection_id):
    """Edit owner, reason, name, retry policy, cadence, rate limit, portal visibility and health thresholds."""
    connection = connection_or_404(connection_id)
    form = ConnectionForm(obj=connection)
    del form.provider, form.client
    _owner_choices(form)
    if not form.is_submitted():
        if connection.expected_cadence_seconds:
            form.expected_cadence_minutes.data = connection.expected_cadence_seconds // 60
        for key, value in (connection.health_thresholds or {}).items():
            if key in form.thresholds.form:
                form.thresholds.form[key].data = value
    if form.validate_on_submit():
        try:
            changed = connection_service.update_connection(connection, form.settings(), current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            flash(f"Saved: {', '.join(changed).replace('_', ' ')}." if changed else "Nothing changed.", "success")
            return redirect(url_for("admin.connection_detail", connection_id=connection.id))
    return render_template("admin/connection_form.html", form=form, connection=connection)


@bp.route("/connections/<int:connection_id>/rotate", methods=["POST"])
def connection_rotate(connection_id):
    """Put a new secret in force (the provider's, pasted, or a generated one, shown once), keeping
    the old one valid for the chosen overlap."""
    connection = connection_or_404(connection_id)
    form = RotateForm()
    secret = error = None
    rotated = False
    if form.validate_on_submit():
        try:
            secret = connection_service.rotate_secret(connection, current_user, form.overlap_hours.data,
                                                      secret=form.secret.data or None)
            rotated = True
        except DomainError as exc:
            db.session.rollback()
            error = str(exc)
    if not htmx:
        if not rotated:
            flash(error or "Choose an overlap from 0 to 720 hours.", "error")
            return redirect(url_for("admin.connection_detail", connection_id=connection.id))
        if secret is None:
            flash("The provider's new secret is in force.", "success")
            return redirect(url_for("admin.connection_detail", connection_id=connection.id))
        reveal.hold(connection.id, secret)
        return _to_detail(connection)
    page = render_template("admin/_secret.html", **secret_context(connection, secret, form, error, rotated))
    return htmx_response(page, 200, NO_STORE, trigger={"secret-rotated": connection.id} if rotated else None)
