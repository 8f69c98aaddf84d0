"""Audit: the trail of admin writes. Every admin write goes through record(); console.audit_log reads it.

May import: models only. Every other stage may import it.
"""
from ...extensions import db
from ...models import AdminAction, utcnow


def record(actor, action, target_type, target_id, reason="", before=None, after=None):
    """Add one event_admin_actions row to the current transaction; actor None means the system."""
    row = AdminAction(
        actor_id=getattr(actor, "id", None), action=action, target_type=target_type,
        target_id=str(target_id), reason=(reason or "")[:5000], before=before, after=after, created_at=utcnow(),
    )
    db.session.add(row)
    return row
