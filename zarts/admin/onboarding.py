"""Lifecycle moves, the onboarding checklist and test events: inline HTMX actions on a connection."""
from flask import flash, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from ..extensions import db, htmx
from ..services import DomainError
from ..services.setup import gate, lifecycle, onboarding
from .blueprint import bp
from .connections import checklist_context, connection_or_404, lifecycle_context
from .forms import LifecycleForm

DONE_WORDS = {"start_testing": "Testing started", "activate": "Activated", "resume": "Resumed",
              "pause": "Paused", "disconnect": "Disconnected"}


def _back(connection, message, category):
    """Without htmx: flash and go back to the detail page."""
    flash(message, category)
    return redirect(url_for("admin.connection_detail", connection_id=connection.id))


@bp.route("/connections/<int:connection_id>/lifecycle", methods=["GET", "POST"])
def connection_lifecycle(connection_id):
    """GET: the lifecycle fragment. POST `to` (+ reason): move the connection; the gate is enforced here."""
    connection = connection_or_404(connection_id)
    if request.method == "GET":
        return render_template("admin/_lifecycle.html", **lifecycle_context(connection))
    form = LifecycleForm()
    verb = error = None
    if form.validate_on_submit():
        try:
            verb = lifecycle.transition(connection, form.to.data, current_user, form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            error = str(exc)
    else:
        error = "choose what to do with the connection"
    if not htmx:
        return _back(connection, error or f"{DONE_WORDS[verb]}.", "error" if error else "success")
    page = render_template("admin/_lifecycle.html", **lifecycle_context(connection, error, form if error else None))
    return htmx_response(page, trigger={"lifecycle-changed": connection.id} if verb else None)


@bp.route("/connections/<int:connection_id>/checklist")
def connection_checklist(connection_id):
    """The onboarding checklist fragment."""
    connection = connection_or_404(connection_id)
    return render_template("admin/_checklist.html", **checklist_context(connection))


@bp.route("/connections/<int:connection_id>/checklist/<step>", methods=["POST"])
def connection_checklist_step(connection_id, step):
    """What a person does on the checklist: confirm step 1 with a note (done=1) or take it back
    (done=0); record the review of the test counts (step 4). The other steps are done by evidence."""
    connection = connection_or_404(connection_id)
    error = None
    try:
        if step == "access" and request.form.get("done") == "1":
            gate.confirm_access(connection, current_user, request.form.get("note", ""))
        elif step == "access":
            gate.reopen_access(connection, current_user)
        elif step == "test_event":
            gate.review_test_data(connection, current_user)
        else:
            raise DomainError("this step is done by what exists, not by a click: follow its link")
    except DomainError as exc:
        db.session.rollback()
        error = str(exc)
    if not htmx:
        return _back(connection, error or "Checklist updated.", "error" if error else "success")
    page = render_template("admin/_checklist.html", **checklist_context(connection, error))
    return htmx_response(page, trigger={"checklist-changed": connection.id} if not error else None)


@bp.route("/connections/<int:connection_id>/test-event", methods=["POST"])
def connection_test_event(connection_id):
    """Step 4: deliver the provider's sample through the real endpoint and show the review counts."""
    connection = connection_or_404(connection_id)
    result = error = None
    try:
        result = onboarding.send_test_event(connection, current_user)
    except DomainError as exc:
        db.session.rollback()
        error = str(exc)
    if not htmx:
        return _back(connection, error or "Test event sent.", "error" if error else "success")
    page = render_template("admin/_checklist.html", **checklist_context(connection, error, result))
    return htmx_response(page, trigger={"test-event-sent": connection.id} if result else None)


@bp.route("/connections/<int:connection_id>/test-review")
def connection_test_review(connection_id):
    """The review counts of the connection's test deliveries (polls while some are still pending)."""
    connection = connection_or_404(connection_id)
    return render_template("admin/_test_review.html", connection=connection, review=gate.test_review(connection))
