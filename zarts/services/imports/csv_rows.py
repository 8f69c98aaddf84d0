"""Reading an import's rows: each row checked against the column mapping, duplicate keys found,
and what a pass found so far tallied. No writes: both passes (csv_run) stream rows through here.
"""
import heapq
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

from ..mapping import csv_columns, rules
from ..mapping.versions import effective_mapping
from . import csv_parse

BATCH_ROWS = 500
ROW_ERROR_LIMIT = 1000  # row errors kept (and downloadable) per import; the count covers all
COUNT_KEYS = ("created", "updated", "unchanged", "failed", "duplicate", "ignored")


@dataclass
class Tally:
    """What a pass has found so far."""

    rows: int = 0
    invalid: int = 0
    duplicate: int = 0
    counts: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)
    error_count: int = 0
    errors_saved: int = -1  # how many of errors the import row holds

    def error(self, line, column, value, message):
        self.error_count += 1
        if len(self.errors) < ROW_ERROR_LIMIT:
            self.errors.append({"line": line, "column": column or "", "value": (value or "")[:200],
                                "message": message})


@dataclass
class Row:
    line: int
    payload: dict
    record: rules.MappedRecord | None


class KeySet:
    """Which natural keys a pass has seen, in ~16 bytes a key: 64-bit hashes in a sorted array, plus
    a set of recent ones (at most 1/8 of the array, so merges stay rare) merged in now and then.
    A plain set of 100k keys would cost ~6 MB; this costs ~1.5 MB."""

    MERGE_AT = 4096

    def __init__(self):
        self.sorted, self.recent = array("q"), set()

    def add(self, key):
        """True when key is new (and remember it), False when it was seen before."""
        digest = hash(key)
        if digest in self.recent:
            return False
        at = bisect_left(self.sorted, digest)
        if at < len(self.sorted) and self.sorted[at] == digest:
            return False
        self.recent.add(digest)
        if len(self.recent) >= max(self.MERGE_AT, len(self.sorted) // 8):
            self.sorted, self.recent = array("q", heapq.merge(self.sorted, sorted(self.recent))), set()
        return True


def scan(imp, tally):
    """(reader, batches of valid, first-seen rows); invalid and duplicate rows are tallied, not yielded."""
    active = effective_mapping(imp.connection)
    rule = None if rules.is_ignored(active, "row") else rules.rule_for(active, "row")
    section, headers = imp.columns, imp.headers
    index = {h: i for i, h in enumerate(headers)}
    key_at = index[section["key"]]
    wanted = [(t, index.get(s.get("column")), s) for t, s in section["columns"].items()]
    kept = [(index[header], name) for header, name in csv_columns.kept_columns(headers, section)]
    reader, records = csv_parse.data_records(imp.id, imp.encoding, imp.delimiter)

    def batches():
        seen, batch, pending = KeySet(), [], 0
        for line, cells in records:
            tally.rows += 1
            pending += 1
            row = _row(line, cells, headers, key_at, wanted, kept, section, rule, tally)
            if row is None:
                tally.invalid += 1
            elif not seen.add(row.record.external_id if row.record else row.payload["row_key"]):
                tally.duplicate += 1
                tally.error(line, section["key"], row.payload["row_key"],
                            "duplicate key: an earlier row has the same key, so this row is skipped")
            else:
                batch.append(row)
            if pending >= BATCH_ROWS:
                yield batch
                batch, pending = [], 0
        if pending:
            yield batch

    return reader, batches()


def _row(line, cells, headers, key_at, wanted, kept, section, rule, tally):
    """A valid row's payload (and mapped record), or None after tallying its errors.

    The payload is what a row event carries: its key, the targets' typed values under "row", and the
    columns kept as they are (text) under "extra".
    """
    if isinstance(cells, csv_parse.BadRecord):
        tally.error(line, "", "", cells.message)
        return None
    if len(cells) != len(headers):
        tally.error(line, "", "", f"the row has {len(cells)} values but the header has {len(headers)} columns")
        return None
    errors = tally.error_count
    key = cells[key_at].strip()
    if not key or len(key) > csv_columns.MAX_KEY:
        tally.error(line, headers[key_at], key, f"the key must be 1-{csv_columns.MAX_KEY} characters")
    values = {}
    for target, at, spec in wanted:
        text = cells[at].strip() if at is not None else ""
        if not text:
            values[target] = None
            if spec.get("required"):
                tally.error(line, spec.get("column") or target, "", "a value is required")
            continue
        try:
            values[target] = csv_columns.coerce(spec, text, section)
        except ValueError as exc:
            tally.error(line, spec.get("column"), text, str(exc))
    if tally.error_count > errors:
        return None
    payload = {"type": "row", "row_key": key, "row": values}
    if kept:
        payload["extra"] = {name: cells[at].strip() or None for at, name in kept}
    try:
        record = rules.apply(rule, payload) if rule is not None else None
    except rules.MappingError as exc:
        tally.error(line, "", key, f"the mapping cannot use this row: {exc}")
        return None
    return Row(line, payload, record)
