"""Admin tasks: listing open work (mine first) and resolving it."""
from sqlalchemy import case
from sqlalchemy.orm import joinedload, selectinload

from ...extensions import db
from ...models import AdminTask, Connection, utcnow
from .. import DomainError, audit

LIMIT = 500


def open_tasks(user, limit=LIMIT):
    """Open tasks, the user's own first, then everyone's; oldest first within each group."""
    mine_first = case((AdminTask.assignee_id == user.id, 0), else_=1)
    query = (
        db.select(AdminTask).where(AdminTask.status == "open")
        .options(joinedload(AdminTask.assignee))
        .order_by(mine_first, AdminTask.created_at, AdminTask.id).limit(limit)
    )
    return list(db.session.scalars(query))


def connections_of(tasks):
    """{connection_id: Connection} for the tasks, in one query."""
    ids = {t.connection_id for t in tasks if t.connection_id}
    if not ids:
        return {}
    query = db.select(Connection).where(Connection.id.in_(ids)).options(selectinload(Connection.client))
    return {c.id: c for c in db.session.scalars(query)}  # with clients: rows show each one's display name


def resolve(task, actor, reason=""):
    """Close an open task: frees its open_key so the same problem can open a new one. Commits."""
    if task.status != "open":
        raise DomainError("this task is already resolved")
    before = {"status": task.status, "open_key": task.open_key}
    task.status, task.open_key = "resolved", None
    task.resolved_at, task.resolved_by_id = utcnow(), getattr(actor, "id", None)
    audit.record(actor, "task.resolve", "task", task.id, reason, before,
                 {"status": task.status, "resolved_at": task.resolved_at.isoformat()})
    db.session.commit()
    return task
