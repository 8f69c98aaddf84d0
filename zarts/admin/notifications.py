"""Notifications: where alerts go (destinations), the notification log with resend, alert snooze."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..extensions import db, htmx
from ..models import NOTIFICATION_STATUSES, Connection, Notification, NotificationDestination
from ..services import DomainError
from ..services.notify import delivery, destinations
from .blueprint import bp


def _page(error=None, new_secret=None, status=200):
    wanted = request.args.get("status")
    wanted = wanted if wanted in NOTIFICATION_STATUSES else None
    rows = destinations.listed(current_user)
    log = destinations.recent(wanted, request.args.get("before", type=int))
    return render_template(
        "admin/notifications.html", destinations=rows, failing=[d for d in rows if d.failing], log=log,
        recipient=destinations.recipient, statuses=NOTIFICATION_STATUSES, wanted=wanted, error=error,
        new_secret=new_secret, kinds=destinations.KIND_NAMES, scope=destinations.scope,
        connections=list(db.session.scalars(db.select(Connection).where(Connection.lifecycle != "disconnected")
                                            .order_by(Connection.name))),
        older=log[-1].id if len(log) == 100 else None), status


@bp.route("/notifications")
def notifications():
    """My destinations and everyone's, failing ones first in view, and the notification log."""
    return _page()


@bp.route("/notifications/destinations", methods=["POST"])
def destination_add():
    """Add a destination: mine, a connection's, or on-call (the fallback)."""
    form = request.form
    where = form.get("scope", "me")
    connection = None
    if where.startswith("connection:"):
        connection = db.session.get(Connection, int(where.split(":", 1)[1]) if where[11:].isdigit() else 0)
        if connection is None:
            return _page("choose a connection", status=400)
    try:
        _, secret = destinations.add(current_user, form.get("kind"), form.get("target"),
                                     user=current_user if where == "me" else None, connection=connection)
    except DomainError as exc:
        db.session.rollback()
        return _page(str(exc), status=400)
    if secret:  # shown once, in this answer (the page after a redirect would not have it)
        return _page(new_secret=secret)
    flash("Destination added. Send it a test to check it.", "success")
    return redirect(url_for("admin.notifications"))


def _destination(destination_id):
    return db.session.get(NotificationDestination, destination_id) or abort(404)


@bp.route("/notifications/destinations/<int:destination_id>/test", methods=["POST"])
def destination_test(destination_id):
    """Send a test message now; say what happened."""
    sent = destinations.send_test(_destination(destination_id), current_user)
    words = {"sent": "Test sent.", "not_sent": f"Test {sent.status_reason}.",
             "pending": f"Test not delivered yet: {sent.status_reason}.", "failed": f"Test {sent.status_reason}."}
    flash(words.get(sent.status, sent.status), "success" if sent.status == "sent" else "error")
    return redirect(url_for("admin.notifications"))


@bp.route("/notifications/destinations/<int:destination_id>/remove", methods=["POST"])
def destination_remove(destination_id):
    destinations.remove(_destination(destination_id), current_user)
    flash("Destination removed.", "success")
    return redirect(url_for("admin.notifications"))


@bp.route("/notifications/<int:notification_id>/resend", methods=["POST"])
def notification_resend(notification_id):
    """Send a logged notification again (a new row, due now); htmx gets the new row for the log."""
    notification = db.session.get(Notification, notification_id) or abort(404)
    copy = delivery.resend(notification, current_user)
    delivery.send_one(copy.id)
    copy = db.session.get(Notification, copy.id, populate_existing=True)
    if htmx:
        return render_template("admin/_notification_row.html", n=copy, recipient=destinations.recipient)
    flash(f"Resent: {copy.status.replace('_', ' ')}.", "success")
    return redirect(url_for("admin.notifications"))


@bp.route("/connections/<int:connection_id>/snooze", methods=["POST"])
def connection_snooze(connection_id):
    """Snooze (hours and a reason) or wake the connection's alerts; audited."""
    connection = db.session.get(Connection, connection_id) or abort(404)
    try:
        if request.form.get("wake"):
            destinations.unsnooze(connection, current_user)
        else:
            destinations.snooze(connection, request.form.get("hours", type=int), request.form.get("reason"),
                                current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.connection_detail", connection_id=connection.id, _anchor="alerts"))
