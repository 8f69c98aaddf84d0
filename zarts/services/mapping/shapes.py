"""The paths index: per connection and event type, every JSON path deliveries carry, with its types,
how often it is present and a masked example; and, per path, how many indexed deliveries in a row
have lacked it (what drift detection reads).

Fed by the normalize batch after its commit, in a short transaction of its own (an index failure
never costs an event). Each type is indexed fully for its first FULL_UNTIL deliveries, then one
delivery in SAMPLE_EVERY per batch: the shape of a stream, not every copy of it.
"""
import hashlib
import re

from flask import current_app
from sqlalchemy import bindparam, insert, select, update

from ...extensions import db
from ...models import EventShape
from ..ingest import masking

MAX_DEPTH, MAX_PATHS, EXAMPLE_CHARS = 8, 300, 80
FULL_UNTIL, SAMPLE_EVERY = 100, 10
PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def key_hash(event_type, path):
    return hashlib.sha256(f"{event_type}\x00{path}".encode("utf-8", "surrogatepass")).hexdigest()


def flatten(payload, needles=None):
    """{path: (JSON type, masked example or None)} of a payload's paths (JMESPath spelling; a list's
    first item as "[0]"), bounded in depth and count."""
    found = {}

    def walk(value, path, depth, masked):
        if len(found) >= MAX_PATHS:
            return
        kind = masking.json_type(value)
        if path:
            found[path] = (kind, None if kind in ("object", "array") else _example(value, masked))
        if depth >= MAX_DEPTH:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    continue
                name = key if PLAIN_KEY.fullmatch(key) else '"' + key.replace('"', '\\"') + '"'
                walk(item, f"{path}.{name}" if path else name, depth + 1,
                     masked or (needles is not None and masking.matches(key, needles)))
        elif isinstance(value, list) and value:
            walk(value[0], f"{path}[0]", depth + 1, masked)

    walk(payload, "", 0, False)
    return found


def _example(value, masked):
    if value is None:
        return None
    if masked:
        return masking.MASK
    return masking.safe_text(value, EXAMPLE_CHARS)


def observe(items, now):
    """Index a batch: items are (connection_id, event_type, payload) in arrival order. Commits; a
    failure is logged and rolled back (the index catches up with the next batch)."""
    groups = {}
    for connection_id, event_type, payload in items:
        if event_type and isinstance(payload, (dict, list)):
            groups.setdefault((connection_id, event_type[:255]), []).append(payload)
    if not groups:
        return
    needles = masking.needles_for(current_app.config["PAYLOAD_SENSITIVE_KEYS"])
    try:
        for (connection_id, event_type), payloads in groups.items():
            _observe_type(connection_id, event_type, payloads, needles, now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.warning("paths index update failed", exc_info=True)


def _observe_type(connection_id, event_type, payloads, needles, now):
    rows = {row.path: row for row in db.session.scalars(select(EventShape).where(
        EventShape.connection_id == connection_id, EventShape.event_type == event_type))}
    root = rows.get("")
    if root is not None and root.seen >= FULL_UNTIL:
        payloads = payloads[::SAMPLE_EVERY] or payloads[:1]
    flats = [flatten(p, needles) for p in payloads]
    count = len(flats)
    stats = {}  # path -> [present, types, example, last index present]
    for i, flat in enumerate(flats):
        for path, (kind, example) in flat.items():
            entry = stats.setdefault(path, [0, set(), None, -1])
            entry[0] += 1
            entry[1].add(kind)
            entry[2] = example if example is not None else entry[2]
            entry[3] = i
    new, changed = [], []
    for path, (present, kinds, example, last) in stats.items():
        streak = count - 1 - last
        row = rows.get(path)
        if row is None:
            new.append({"connection_id": connection_id, "key_hash": key_hash(event_type, path),
                        "event_type": event_type, "path": path[:500], "types": sorted(kinds), "seen": present,
                        "missing_streak": streak, "example": example, "first_seen_at": now, "last_seen_at": now})
        else:
            changed.append({"row_id": row.id, "types": sorted(set(row.types or ()) | kinds),
                            "seen": row.seen + present, "missing_streak": streak,
                            "example": example if example is not None else row.example, "last_seen_at": now})
    absent = [row.id for path, row in rows.items() if path and path not in stats]
    if root is None:
        new.append({"connection_id": connection_id, "key_hash": key_hash(event_type, ""), "event_type": event_type,
                    "path": "", "types": ["object"], "seen": count, "missing_streak": 0, "example": None,
                    "first_seen_at": now, "last_seen_at": now})
    else:
        changed.append({"row_id": root.id, "types": root.types, "seen": root.seen + count, "missing_streak": 0,
                        "example": None, "last_seen_at": now})
    table = EventShape.__table__
    if new:
        db.session.execute(insert(table), new)
    if changed:
        db.session.execute(update(table).where(table.c.id == bindparam("row_id")).values(
            types=bindparam("new_types"), seen=bindparam("new_seen"), missing_streak=bindparam("new_streak"),
            example=bindparam("new_example"), last_seen_at=bindparam("new_last_seen_at")),
            [{"row_id": c["row_id"], "new_types": c["types"], "new_seen": c["seen"], "new_streak": c["missing_streak"],
              "new_example": c["example"], "new_last_seen_at": c["last_seen_at"]} for c in changed])
    if absent:
        db.session.execute(update(table).where(table.c.id.in_(absent)).values(
            missing_streak=table.c.missing_streak + count))


def paths_of(connection_id, event_type):
    """The index for one event type: (deliveries indexed, [EventShape] by path)."""
    rows = list(db.session.scalars(select(EventShape).where(
        EventShape.connection_id == connection_id, EventShape.event_type == event_type).order_by(EventShape.path)))
    root = next((r for r in rows if r.path == ""), None)
    return (root.seen if root else 0), [r for r in rows if r.path]


def event_types(connection_id):
    """The event types the index has seen on a connection, with how many deliveries: [(type, count)]."""
    return list(db.session.execute(select(EventShape.event_type, EventShape.seen).where(
        EventShape.connection_id == connection_id, EventShape.path == "").order_by(EventShape.event_type)))
