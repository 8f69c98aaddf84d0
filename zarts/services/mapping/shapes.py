"""The paths index: per connection and event type, every JSON path deliveries carry, with its types,
how often it is present and a masked example; and, per path, how many indexed deliveries in a row
have lacked it (what drift detection reads).

Fed by the normalize batches: each process gathers the shapes of what it normalized and writes
them, with the drift check, at most every PATHS_INDEX_FLUSH_SECONDS in a short transaction of its
own (an index failure never costs an event; a process that dies loses at most that much). It looks
at every delivery of a type for its first FULL_UNTIL in this process, then one in SAMPLE_EVERY: the
shape of a stream, not every copy of it (bench/paths_index.py measures the cost).
"""
import hashlib
import re
import threading
import time
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import bindparam, insert, select, update

from ...extensions import db
from ...models import EventShape
from ..ingest import masking
from . import drift

MAX_DEPTH, MAX_PATHS, EXAMPLE_CHARS = 8, 300, 80
FULL_UNTIL, SAMPLE_EVERY, MAX_GATHERED = 20, 10, 200
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


@dataclass
class _Gathered:
    """One process's shapes not written yet, per app."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    flats: dict = field(default_factory=dict)  # (connection id, event type) -> [flattened payloads]
    looked_at: dict = field(default_factory=dict)  # (connection id, event type) -> deliveries seen here
    flushed_at: float = 0.0


def observe(items, now):
    """Gather a batch's shapes (items: (connection_id, event_type, payload) in arrival order) and write
    what was gathered when it is time; a failure is logged and rolled back."""
    state = current_app.extensions.setdefault("zarts_paths_index", _Gathered())
    needles = masking.needles_for(current_app.config["PAYLOAD_SENSITIVE_KEYS"])
    with state.lock:
        for connection_id, event_type, payload in items:
            if not event_type or not isinstance(payload, (dict, list)):
                continue
            key = (connection_id, event_type[:255])
            n = state.looked_at[key] = state.looked_at.get(key, 0) + 1
            kept = state.flats.setdefault(key, [])
            if (n <= FULL_UNTIL or n % SAMPLE_EVERY == 0) and len(kept) < MAX_GATHERED:
                kept.append(flatten(payload, needles))
        clock = time.monotonic()
        if clock - state.flushed_at < current_app.config.get("PATHS_INDEX_FLUSH_SECONDS", 10):
            return
        gathered, state.flats, state.flushed_at = state.flats, {}, clock
    write(gathered, now)


def flush(now):
    """Write what this process gathered, whatever the time (the periodic round calls it)."""
    state = current_app.extensions.get("zarts_paths_index")
    if state is None:
        return
    with state.lock:
        gathered, state.flats, state.flushed_at = state.flats, {}, time.monotonic()
    if gathered:
        write(gathered, now)


def write(gathered, now):
    """Write gathered shapes ({(connection id, event type): [flattened payloads]}) and check for drift."""
    try:
        for (connection_id, event_type), flats in gathered.items():
            if flats:
                _observe_type(connection_id, event_type, flats, now)
        db.session.commit()
        drift.check({connection_id for connection_id, _ in gathered}, now)
    except Exception:
        db.session.rollback()
        current_app.logger.warning("paths index update failed", exc_info=True)


def _observe_type(connection_id, event_type, flats, now):
    rows = {row.path: row for row in db.session.scalars(select(EventShape).where(
        EventShape.connection_id == connection_id, EventShape.event_type == event_type))}
    root = rows.get("")
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
