"""Schema drift: a provider changed what it sends. Read from the paths index after each batch:

path_missing    a path the mapping reads, present in nearly every delivery before, absent from the
                last STREAK deliveries in a row
type_changed    a path the mapping reads now comes with another JSON type too
new_event_type  a type without a rule starts arriving on a connection that was already receiving

Each finding names the mappings and metrics affected, keeps a before / now example (masked), opens
one task for the owner, and degrades the connection's health until it is accepted (the new shape is
expected) or fixed (a mapping version no longer reads the path, or the type gets a rule).
"""
import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import AdminTask, Connection, DriftFinding, EventShape, utcnow
from .. import DomainError, audit
from . import rules
from .versions import effective_mapping

STREAK, MIN_SEEN, COMMON = 5, 10, 0.9
ALERTING = ("active",)


def mapped_paths(rule):
    """{dotted path: [rule keys reading it]}: the payload paths a rule's expressions read."""
    found = {}
    for key, expression in _expressions(rule):
        try:
            tree = rules._compiled(expression).parsed
        except (ValueError, RecursionError):
            continue
        for path in _paths(tree):
            found.setdefault(path, []).append(key)
    return found


def _expressions(rule):
    for key in ("external_id", "occurred_at", "version", "status", "fields_from"):
        if isinstance(rule.get(key), str):
            yield key, rule[key]
    for name, expression in (rule.get("fields") or {}).items():
        if isinstance(expression, str):
            yield f"fields.{name}", expression
    for metric in rule.get("metrics") or []:
        for part in ("value", "currency"):
            if isinstance(metric.get(part), str):
                yield f"metrics.{metric.get('name')}", metric[part]


def _paths(node):
    """Field chains in a JMESPath AST ("a.b.c"); deeper parts (functions, filters) are searched too."""
    if not isinstance(node, dict):
        return []
    if (chain := _chain(node)) is not None:
        return [".".join(chain)]
    found = []
    for child in node.get("children", []):
        found += _paths(child)
    return found


def _chain(node):
    """["a", "b", "c"] for the AST of a.b.c (a field or nested subexpressions of fields), else None."""
    if node.get("type") == "field":
        return [node["value"]]
    if node.get("type") == "subexpression":
        parts = [_chain(child) for child in node.get("children", []) if isinstance(child, dict)]
        if parts and all(part is not None for part in parts):
            return [name for part in parts for name in part]
    return None


def check(connection_ids, now=None):
    """Look for drift on these connections (live ones); open findings (commits) and settle fixed ones."""
    now = now or utcnow()
    for connection in db.session.scalars(select(Connection).where(Connection.id.in_(list(connection_ids)))):
        if connection.lifecycle in ALERTING:
            _check_connection(connection, now)
    db.session.commit()


def _check_connection(connection, now):
    mapping = effective_mapping(connection)
    rows = list(db.session.scalars(select(EventShape).where(EventShape.connection_id == connection.id)))
    by_type = {}
    for row in rows:
        by_type.setdefault(row.event_type, {})[row.path] = row
    _settle(connection, mapping, by_type, now)
    established = [t for t, paths in by_type.items() if paths.get("") and paths[""].seen >= MIN_SEEN]
    for event_type, paths in by_type.items():
        root = paths.get("")
        if root is None or rules.is_ignored(mapping, event_type):
            continue
        rule = rules.rule_for(mapping, event_type)
        if rule is None:
            older = [t for t in established if t != event_type and by_type[t][""].first_seen_at < root.first_seen_at]
            if older and not _ever(connection.id, event_type, "new_event_type", ""):
                _open(connection, event_type, "new_event_type", "", now, {"now": f"{root.seen} deliveries so far"},
                      f"A new event type, {event_type}, is arriving and no mapping rule covers it")
            continue
        for path, readers in mapped_paths(rule).items():
            row = paths.get(path)
            if row is None:
                continue
            before = root.seen - row.missing_streak
            if row.missing_streak >= STREAK and row.seen >= MIN_SEEN and row.seen >= COMMON * before:
                _open(connection, event_type, "path_missing", path, now,
                      {"before": row.example, "now": "absent", "reads": readers, "metrics": _metrics(rule, readers)},
                      f"{event_type} deliveries stopped carrying {path} (the last {row.missing_streak} lacked it; "
                      f"read by {', '.join(readers)})")
            kinds = [k for k in row.types or () if k != "null"]
            if len(kinds) > 1 and not _ever(connection.id, event_type, "type_changed", path):
                _open(connection, event_type, "type_changed", path, now,
                      {"before": kinds[0], "now": " and ".join(kinds), "example": row.example, "reads": readers,
                       "metrics": _metrics(rule, readers)},
                      f"{path} in {event_type} now comes as {' and '.join(kinds)} (read by {', '.join(readers)})")


def _metrics(rule, readers):
    names = {r.split(".", 1)[1] for r in readers if r.startswith("metrics.")}
    return sorted(names)


def _key(connection_id, event_type, kind, path):
    return hashlib.sha256(f"{connection_id}\x00{event_type}\x00{kind}\x00{path}".encode()).hexdigest()


def _ever(connection_id, event_type, kind, path):
    """A finding of this change exists already (open, accepted or fixed): it is not news again."""
    return db.session.scalar(select(DriftFinding.id).where(
        DriftFinding.connection_id == connection_id, DriftFinding.event_type == event_type,
        DriftFinding.kind == kind, DriftFinding.path == path).limit(1)) is not None


def _open(connection, event_type, kind, path, now, detail, summary):
    """One open finding per change, and one task for the owner."""
    key = _key(connection.id, event_type, kind, path)
    if db.session.scalar(select(DriftFinding.id).where(DriftFinding.open_key == key)) is not None:
        return
    finding = DriftFinding(connection_id=connection.id, event_type=event_type, kind=kind, path=path, open_key=key,
                           status="open", detail=detail, summary=summary[:2000], created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(finding)
    except IntegrityError:  # another worker opened it a moment ago
        return
    db.session.add(AdminTask(
        connection_id=connection.id, assignee_id=connection.owner_id, kind="drift", open_key=f"drift:{finding.id}",
        status="open", created_at=now, title=f"Schema drift on {connection.name}: {summary}"[:255],
        detail=(f"{summary}. Before: {detail.get('before')}; now: {detail.get('now')}. Accept it on the connection "
                f"page if the new shape is expected, or save a mapping version that fits it "
                f"(/admin/connections/{connection.id}/mapping).")))


def _settle(connection, mapping, by_type, now):
    """Open findings that a mapping version fixed: the path is no longer read, or the type has a rule."""
    for finding in open_findings(connection.id):
        rule = rules.rule_for(mapping, finding.event_type)
        if finding.kind == "new_event_type":
            fixed = rule is not None or rules.is_ignored(mapping, finding.event_type)
        else:
            fixed = rule is None or finding.path not in mapped_paths(rule)
        if fixed:
            _close(finding, "fixed", None, "a mapping version no longer depends on it", now)


def open_findings(connection_id=None):
    query = select(DriftFinding).where(DriftFinding.status == "open").order_by(DriftFinding.id)
    if connection_id is not None:
        query = query.where(DriftFinding.connection_id == connection_id)
    return list(db.session.scalars(query))


def findings(connection_id=None, limit=200):
    query = select(DriftFinding).order_by(DriftFinding.id.desc()).limit(limit)
    if connection_id is not None:
        query = query.where(DriftFinding.connection_id == connection_id)
    return list(db.session.scalars(query))


def accept(finding, actor, reason=""):
    """The new shape is expected: close the finding and its task (audited); a vanished path is forgotten."""
    if finding.status != "open":
        raise DomainError(f"this finding is {finding.status} already")
    if finding.kind == "path_missing":
        db.session.execute(EventShape.__table__.delete().where(
            EventShape.connection_id == finding.connection_id, EventShape.event_type == finding.event_type,
            EventShape.path == finding.path))
    _close(finding, "accepted", actor, reason or "the new shape is expected", utcnow())
    audit.record(actor, "drift.accept", "drift_finding", finding.id, reason, {"status": "open"},
                 {"status": "accepted"})
    db.session.commit()


def _close(finding, status, actor, resolution, now):
    finding.status, finding.open_key, finding.resolved_at = status, None, now
    finding.resolved_by_id, finding.resolution = getattr(actor, "id", None), resolution
    task = db.session.scalar(select(AdminTask).where(AdminTask.open_key == f"drift:{finding.id}"))
    if task is not None:
        task.status, task.open_key, task.resolved_at = "resolved", None, now
        task.detail = f"{task.detail} Closed: {status} ({resolution})."[:5000]


def health_reasons(connection_ids):
    """{connection id: [summary of each open finding]}: what degrades their health."""
    found = {}
    for connection_id, summary in db.session.execute(select(DriftFinding.connection_id, DriftFinding.summary).where(
            DriftFinding.status == "open", DriftFinding.connection_id.in_(list(connection_ids)))):
        found.setdefault(connection_id, []).append(summary)
    return found


def finding_dict(finding):
    return {"id": finding.id, "connection_id": finding.connection_id, "event_type": finding.event_type,
            "kind": finding.kind, "path": finding.path, "status": finding.status, "summary": finding.summary,
            "detail": finding.detail, "created_at": finding.created_at.isoformat(),
            "resolved_at": finding.resolved_at.isoformat() if finding.resolved_at else None,
            "resolution": finding.resolution}
