"""A connection's lifecycle (set by admins) and its onboarding checklist, which gates going active.

draft -> testing -> active <-> paused, and any of them -> disconnected (final: it answers 410).
Every move to `active` (activation and resume alike) needs checklist steps 1-5 done.
"""
from datetime import datetime

from sqlalchemy import update

from ...extensions import db
from ...models import LIFECYCLES, WebhookEvent, utcnow
from .. import DomainError, audit
from .connections import CHECKLIST_STEPS, commit, new_checklist

GATE_STEPS = tuple(key for key, _ in CHECKLIST_STEPS[:5])
# target lifecycle: (lifecycles it may be reached from, audited verb)
TRANSITIONS = {
    "testing": (("draft",), "start_testing"),
    "active": (("draft", "testing", "paused"), "activate"),
    "paused": (("active",), "pause"),
    "disconnected": (("draft", "testing", "active", "paused"), "disconnect"),
}
LABELS = {key: label for key, label in CHECKLIST_STEPS}
NUMBERS = {key: number for number, (key, _) in enumerate(CHECKLIST_STEPS, start=1)}


def checklist(connection):
    """The steps in order, each {number, key, label, done, by_name, at, gate}."""
    stored = connection.checklist or {}
    steps = []
    for number, (key, label) in enumerate(CHECKLIST_STEPS, start=1):
        entry = stored.get(key) or {}
        at = entry.get("at")
        steps.append({
            "number": number, "key": key, "label": label, "done": bool(entry.get("done")),
            "by_name": entry.get("by_name"), "at": datetime.fromisoformat(at) if at else None,
            "gate": key in GATE_STEPS,
        })
    return steps


def missing_steps(connection):
    """The gate steps (1-5) not yet done, as "N. label"."""
    stored = connection.checklist or {}
    return [f"{NUMBERS[key]}. {LABELS[key]}" for key in GATE_STEPS if not (stored.get(key) or {}).get("done")]


def set_step(connection, key, done, actor):
    """Mark a checklist step done or not done, recording who and when; audited. Commits."""
    if key not in LABELS:
        raise DomainError(f"unknown checklist step '{key}'")
    current = {**new_checklist(), **(connection.checklist or {})}
    before = current[key]
    entry = {"done": bool(done), "by": getattr(actor, "id", None),
             "by_name": getattr(actor, "display_name", None), "at": utcnow().isoformat()}
    connection.checklist = {**current, key: entry}  # a new dict, so SQLAlchemy sees the change
    audit.record(actor, "checklist.done" if done else "checklist.undone", "connection", connection.id, "",
                 {"step": key, "done": bool(before.get("done"))}, {"step": key, "done": bool(done)})
    commit()
    return entry


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
        if missing := missing_steps(connection):
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
