"""Reading the audit trail for the audit log page: filters from query arguments, keyset pages."""
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import AdminAction, User
from .. import DomainError
from . import keyset

PAGE_SIZE = 50
ARG_NAMES = ("actor", "action", "target_type", "target_id", "from", "to")
SYSTEM = "system"  # the actor filter's value for rows written by jobs and the CLI
_LIMITS = {"action": 64, "target_type": 32, "target_id": 64}


@dataclass
class Filters:
    """Validated audit log filters; `args` holds them as query arguments for links."""

    actor: int | str | None = None  # a user id, or SYSTEM
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
    args: dict = field(default_factory=dict)


def parse_filters(args):
    """(Filters, errors) from query arguments; with errors, the caller must not query."""
    filters, errors = Filters(), []
    for name in ARG_NAMES:
        value = (args.get(name) or "").strip()
        if not value:
            continue
        try:
            _parse(filters, name, value)
        except DomainError as exc:
            errors.append(str(exc))
            continue
        filters.args[name] = value
    if filters.since and filters.until and filters.since >= filters.until:
        errors.append("from: must be before 'to'")
    return filters, errors


def _parse(filters, name, value):
    if name == "actor":
        if value == SYSTEM:
            filters.actor = SYSTEM
        elif re.fullmatch(r"[0-9]{1,9}", value) and db.session.get(User, int(value)) is not None:
            filters.actor = int(value)
        else:
            raise DomainError(f"actor: there is no user '{value[:40]}'")
    elif name in _LIMITS:
        if len(value) > _LIMITS[name]:
            raise DomainError(f"{name.replace('_', ' ')}: at most {_LIMITS[name]} characters")
        setattr(filters, name, value)
    elif name == "from":
        filters.since = keyset.parse_time(value, "from")
    else:
        filters.until = keyset.parse_time(value, "to", end=True)


def conditions(filters):
    """WHERE clauses; actor, action (with a trailing * as prefix) and target are indexed."""
    rows = AdminAction
    where = []
    if filters.actor == SYSTEM:
        where.append(rows.actor_id.is_(None))
    elif filters.actor is not None:
        where.append(rows.actor_id == filters.actor)
    if filters.action.endswith("*"):
        where.append(rows.action.startswith(filters.action[:-1], autoescape=True))
    elif filters.action:
        where.append(rows.action == filters.action)
    if filters.target_type:
        where.append(rows.target_type == filters.target_type)
    if filters.target_id:
        where.append(rows.target_id == filters.target_id)
    if filters.since:
        where.append(rows.created_at >= filters.since)
    if filters.until:
        where.append(rows.created_at < filters.until)
    return where


def page(filters, cursor=None, limit=PAGE_SIZE):
    """(admin actions, next cursor or None), newest first, actors loaded."""
    query = select(AdminAction).where(*conditions(filters)).options(selectinload(AdminAction.actor))
    return keyset.page(db.session, query, AdminAction.created_at, AdminAction.id, cursor, limit)


def choices():
    """Admins, and the actions and target types in use (distinct over their indexes), for the form."""
    return {
        "actors": db.session.scalars(select(User).where(User.role == "admin").order_by(User.email)).all(),
        "actions": db.session.scalars(select(AdminAction.action).distinct().order_by(AdminAction.action).limit(200)).all(),
        "target_types": db.session.scalars(
            select(AdminAction.target_type).distinct().order_by(AdminAction.target_type).limit(50)).all(),
    }


def field_changes(before, after):
    """An audit row's before/after as readable field changes: [(field, before text, after text)].

    Fields present on either side, in the order they were written; a field that did not change is
    left out, a side without it reads "—". Non-dict values (rare) come back as one "value" change.
    """
    if not isinstance(before, dict) or not isinstance(after, dict):
        if before == after:
            return []
        return [("Value", _readable(before), _readable(after))]
    keys = list(dict.fromkeys([*before, *after]))
    return [(key.replace("_", " ").capitalize(), _readable(before.get(key)), _readable(after.get(key)))
            for key in keys if before.get(key) != after.get(key) or key not in before or key not in after]


def _readable(value):
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if re.fullmatch(r"[a-z]+(_[a-z]+)+", value):  # a status or another code word: dead_lettered
            return value.replace("_", " ")
        if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)?", value):
            return value[:16].replace("T", " ") + " UTC"
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "), ensure_ascii=False, default=str)
    return str(value)
