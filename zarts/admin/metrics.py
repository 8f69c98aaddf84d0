"""Metrics and the client story: definitions, publishing, card visibility, notes, view as client."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..errors import render_error
from ..extensions import db
from ..models import Client, Connection, MetricDefinition, PortalCard, ReportNote
from ..services import DomainError, audit
from ..services.mapping import rules, versions
from ..services.proof import metrics, notes, periods, portal, provenance
from .blueprint import bp
from .metric_forms import MetricForm, NoteForm, choices


def _client_or_404(client_id):
    return db.session.get(Client, client_id) or abort(404)


def _metric_or_404(metric_id):
    return db.session.get(MetricDefinition, metric_id) or abort(404)


@bp.route("/metrics")
def metrics_list():
    """Every client's metrics, with publication state and the card's status."""
    rows = db.session.scalars(
        db.select(MetricDefinition).options(joinedload(MetricDefinition.client), joinedload(MetricDefinition.connection))
        .order_by(MetricDefinition.client_id, MetricDefinition.id)
    ).all()
    cards = {c.metric_id: c for c in db.session.scalars(db.select(PortalCard))}
    clients = db.session.scalars(db.select(Client).order_by(Client.name)).all()
    return render_template("admin/metrics.html", metrics=rows, cards=cards, clients=clients,
                           gaps={m.id: metrics.publish_gaps(m) for m in rows})


def _form_for(client, metric=None):
    form = MetricForm(obj=metric)
    connections = db.session.scalars(db.select(Connection).filter_by(client_id=client.id).order_by(Connection.id))
    form.connection_id.choices = choices([("", "— choose —")] + [(c.id, c.display_name) for c in connections])
    return form


def _names_context(client, connection_id):
    """The metric names the chosen connection's mapping writes (the client's own connections only)."""
    connection = connection_id and db.session.scalar(
        db.select(Connection).filter_by(id=connection_id, client_id=client.id))
    names = rules.metric_names(versions.effective_mapping(connection)) if connection else []
    return {"client": client, "names_connection": connection or None, "metric_names": names}


@bp.route("/clients/<int:client_id>/metrics/names")
def metric_names(client_id):
    """The metric name suggestions for a connection, as the form's connection select changes (htmx)."""
    client = _client_or_404(client_id)
    connection_id = request.args.get("connection_id", "")
    return render_template("admin/_metric_names.html",
                           **_names_context(client, int(connection_id) if connection_id.isdecimal() else None))


@bp.route("/clients/<int:client_id>/metrics/new", methods=["GET", "POST"])
def metric_new(client_id):
    """Define a new metric for a client."""
    return _edit(_client_or_404(client_id), None)


@bp.route("/metrics/<int:metric_id>", methods=["GET", "POST"])
def metric_edit(metric_id):
    """Edit a metric definition."""
    metric = _metric_or_404(metric_id)
    return _edit(metric.client, metric)


def _edit(client, metric):
    form = _form_for(client, metric)
    if form.validate_on_submit():
        try:
            metric = metrics.save_metric(client, form.values(), current_user, metric)
            db.session.commit()
            flash(f"Saved “{metric.name}”.", "success")
            return redirect(url_for("admin.metrics_list"))
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
    return render_template("admin/metric_form.html", form=form, metric=metric,
                           gaps=metrics.publish_gaps(metric) if metric else [],
                           **_names_context(client, form.connection_id.data))


@bp.route("/metrics/<int:metric_id>/explain")
def metric_explain(metric_id):
    """Why the card shows its number for a period: the records counted, those left out and why."""
    metric = _metric_or_404(metric_id)
    try:
        start = provenance.parse_period(metric, request.args.get("period", ""))
        found, error = provenance.explain(metric, start), None
    except DomainError as exc:
        found, error = None, str(exc)
    previous = next_ = None
    if found:
        previous = periods.shift(metric.period, start, -1).strftime("%Y-%m-%d")
        next_ = periods.shift(metric.period, start, 1).strftime("%Y-%m-%d")
    return render_template("admin/metric_explain.html", metric=metric, found=found, error=error,
                           previous=previous, next=next_, source=portal.source_name(metric))


@bp.route("/metrics/<int:metric_id>/publish", methods=["POST"])
def metric_publish(metric_id):
    """Publish (or unpublish) a metric; publishing names what is missing instead of failing silently."""
    metric = _metric_or_404(metric_id)
    error = None
    try:
        if request.form.get("action") == "unpublish":
            metrics.unpublish(metric, current_user)
        else:
            metrics.publish(metric, current_user)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        error = str(exc)
    card = db.session.scalar(db.select(PortalCard).filter_by(metric_id=metric.id))
    context = {"metric": metric, "card": card, "gaps": metrics.publish_gaps(metric), "error": error}
    if request.headers.get("HX-Request") == "true":
        return htmx_response(render_template("admin/_metric_row.html", **context),
                             trigger={"metric-published": metric.id} if not error else None)
    flash(error or "Done.", "error" if error else "success")
    return redirect(url_for("admin.metrics_list"))


@bp.route("/cards/<int:card_id>/visibility", methods=["POST"])
def card_visibility(card_id):
    """Show or hide a card on the client's portal."""
    card = db.session.get(PortalCard, card_id) or abort(404)
    metrics.set_card_visibility(card, request.form.get("visible") == "1", current_user)
    db.session.commit()
    context = {"metric": card.metric, "card": card, "gaps": metrics.publish_gaps(card.metric), "error": None}
    if request.headers.get("HX-Request") == "true":
        return htmx_response(render_template("admin/_metric_row.html", **context), trigger={"card-visibility": card.id})
    return redirect(url_for("admin.metrics_list"))


@bp.route("/clients/<int:client_id>/notes", methods=["GET", "POST"])
def client_notes(client_id):
    """Write and list a client's report notes."""
    client = _client_or_404(client_id)
    form = NoteForm()
    if form.validate_on_submit():
        notes.add_note(client.id, form.title.data, form.body.data, author=current_user)
        db.session.commit()
        flash("Note added to the client's portal.", "success")
        return redirect(url_for("admin.client_notes", client_id=client.id))
    rows = db.session.scalars(db.select(ReportNote).where(ReportNote.client_id == client.id,
                                                          ReportNote.status != "draft")
                              .order_by(ReportNote.note_date.desc(), ReportNote.id.desc()).limit(100)).all()
    return render_template("admin/client_notes.html", client=client, form=form, notes=rows,
                           drafts=notes.drafts(client.id))


@bp.route("/notes/<int:note_id>/approve", methods=["POST"])
def note_approve(note_id):
    """Publish a draft note, as the owner edited it."""
    return _review(note_id, "approve")


@bp.route("/notes/<int:note_id>/discard", methods=["POST"])
def note_discard(note_id):
    """Discard a draft note: the client never sees it."""
    return _review(note_id, "discard")


def _review(note_id, decision):
    note = db.session.get(ReportNote, note_id) or abort(404)
    try:
        if decision == "approve":
            notes.approve(note, current_user, request.form.get("title", ""), request.form.get("body", ""))
        else:
            notes.discard(note, current_user, request.form.get("reason", ""))
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash("Note published on the client's portal." if decision == "approve" else "Draft discarded: "
              "the client never saw it.", "success")
    return redirect(url_for("admin.client_notes", client_id=note.client_id), 303)


@bp.route("/clients/<int:client_id>/report")
def client_report(client_id):
    """The client's printable monthly report, exactly as the client gets it (read-only)."""
    client = _client_or_404(client_id)
    try:
        month = portal.parse_month(request.args.get("month", ""))
    except DomainError as exc:
        return render_error(400, str(exc))
    return render_template("portal/report.html", client=client, report=portal.report(client.id, month),
                           preview_as_admin=True)


@bp.route("/clients/<int:client_id>/portal")
def client_portal_preview(client_id):
    """View the portal exactly as the client sees it (read-only, audited)."""
    client = _client_or_404(client_id)
    audit.record(current_user, "portal.view_as_client", "client", client.id)
    db.session.commit()
    return render_template("portal/home.html", client=client, preview_as_admin=True,
                           cards=portal.card_views(client.id), notes=portal.notes(client.id),
                           incidents=portal.incidents(client.id))
