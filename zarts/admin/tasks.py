"""Admin tasks: open work, mine first, resolved inline."""
from flask import abort, flash, redirect, render_template, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from ..extensions import db, htmx
from ..models import AdminTask
from ..services import DomainError
from ..services.proof import tasks as task_service
from .blueprint import bp
from .forms import ResolveTaskForm


@bp.route("/tasks")
def tasks():
    """Open admin tasks: the current admin's first, then everyone else's."""
    rows = task_service.open_tasks(current_user)
    return render_template("admin/tasks.html", tasks=rows, connections=task_service.connections_of(rows),
                           mine=sum(1 for t in rows if t.assignee_id == current_user.id))


@bp.route("/tasks/<int:task_id>/resolve", methods=["POST"])
def task_resolve(task_id):
    """Resolve one task (optional note, audited); answers with the task's row."""
    task = db.session.get(AdminTask, task_id) or abort(404)
    form = ResolveTaskForm()
    error = None
    if form.validate_on_submit():
        try:
            task_service.resolve(task, current_user, form.reason.data or "")
        except DomainError as exc:
            db.session.rollback()
            error = str(exc)
    else:
        error = "; ".join(form.reason.errors) or "the note could not be read"
    if not htmx:
        flash(error or "Task resolved.", "error" if error else "success")
        return redirect(url_for("admin.tasks"))
    page = render_template("admin/_task_row.html", task=task, connections=task_service.connections_of([task]),
                           task_error=error)
    return htmx_response(page, trigger={"task-resolved": task.id} if not error else None)
