"""A connection's lifecycle, set by admins.

draft -> testing -> active <-> paused, and any of them -> disconnected (final: it answers 410).
Every move to `active` (activation and resume alike) needs the onboarding gate's steps 1-5 done
(see gate: on evidence, not on someone's click).
"""
from sqlalchemy import update

from ...extensions import db
from ...models import LIFECYCLES, WebhookEvent, utcnow
from .. import DomainError, audit
from . import gate
from .connections import commit

# target lifecycle: (lifecycles it may be reached from, audited verb)
TRANSITIONS = {
    "testing": (("draft",), "start_testing"),
    "active": (("draft", "testing", "paused"), "activate"),
    "paused": (("active",), "pause"),
    "disconnected": (("draft", "testing", "active", "paused"), "disconnect"),
}


def allowed_targets(connection):
    """The lifecycles this connection may move to now (the gate is checked on the move itself)."""
    return [to for to, (sources, _) in TRANSITIONS.items() if connection.lifecycle in sources]


def transition(connection, to, actor, reason=""):
    """Move a connection to another lifecycle; DomainError when the move is not allowed. Commits.

    Going active is refused, naming the missing steps, until checklist steps 1-5 are done.
    Pausing needs a reason, which stays on the connection until it is resumed.
    """
    if to not in LIFECYCLES or to not in TRANSITIONS:
        raise DomainError(f"unknown lifecycle '{to}'")
    sources, verb = TRANSITIONS[to]
    if connection.lifecycle not in sources:
        raise DomainError(f"a {connection.lifecycle} connection cannot become {to}")
    reason = (reason or "").strip()
    if to == "active":
        if missing := gate.missing(connection):
            raise DomainError("finish these onboarding steps before going active: " + "; ".join(missing))
        verb = "resume" if connection.lifecycle == "paused" else verb
    if to == "paused" and not reason:
        raise DomainError("a reason is required to pause a connection")
    before = {"lifecycle": connection.lifecycle, "paused_reason": connection.paused_reason}
    if connection.lifecycle == "paused":  # what waited during the pause is due now, not a grace later
        table = WebhookEvent.__table__
        db.session.execute(update(table).where(table.c.connection_id == connection.id, table.c.status == "queued")
                           .values(next_attempt_at=utcnow()))
    connection.lifecycle = to
    connection.paused_reason = reason if to == "paused" else None
    audit.record(actor, f"connection.{verb}", "connection", connection.id, reason, before,
                 {"lifecycle": to, "paused_reason": connection.paused_reason})
    commit()
    return verb
