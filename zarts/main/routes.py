"""/ and /healthz."""
from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import workers
from ..extensions import db
from ..queues import queue_status

bp = Blueprint("main", __name__)



@bp.route("/")
def index():
    """Send each user to their home: admins to the health board, clients to their portal."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_admin:
        return redirect(url_for("admin.home"))
    return redirect(url_for("portal.home"))


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on any page without a <link rel=icon> (a fragment opened on its own)."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.route("/healthz")
def healthz():
    """JSON: is the database reachable, is the queue reachable (503 when either is not), and has a
    worker been seen lately ("degraded" when not: events are stored but wait to be processed)."""
    try:
        db.session.execute(text("SELECT 1"))
        database = {"ok": True}
    except SQLAlchemyError as exc:
        db.session.rollback()
        database = {"ok": False, "error": type(exc).__name__}
    queue = queue_status()
    ok = database["ok"] and queue["ok"]
    worker = workers.status() if queue["ok"] else {"ok": False, "mode": queue["mode"]}
    status = "down" if not ok else "ok" if worker["ok"] else "degraded"
    return jsonify({"ok": ok, "status": status, "database": database, "queue": queue, "workers": worker}), \
        200 if ok else 503
