"""Payload summaries: what admin screens show instead of a raw webhook payload.

A summary is computed once, when a webhook is accepted, and stored as JSON. Whatever the input it
is JSON-serialisable, bounded in size and free of the values found under sensitive keys, and it
never raises: a summary must never be the reason an event is not stored. What is masked is decided
in masking; the webhooks blueprint, the jobs and the CLI all call summarize().
"""
import functools
import itertools
import json
from collections.abc import Mapping

import jmespath

from . import masking
from .masking import DEFAULT_SENSITIVE_KEYS, MASK

PREVIEW_BUDGET = 4096  # bytes of json.dumps output (ASCII-escaped, so an upper bound on UTF-8)
KEYS_BUDGET = 8192
# JMESPath nodes of a plain chain of names and indexes, like "data.object.id" or "items[0].id".
_PLAIN_NODES = ("field", "subexpression", "index_expression", "index")
MAX_KEYS, MAX_OBJECT_IDS, MAX_ID_CHARS = 50, 10, 64
_MEMO_PATH_CHARS = 200  # paths up to this long are parsed and classified once per process (LRU)
# (max_depth, max_items, max_string), tried in turn until the preview fits PREVIEW_BUDGET.
_PREVIEW_LADDER = ((6, 20, 80), (4, 10, 60), (3, 10, 40), (2, 5, 40), (1, 5, 24), (1, 3, 12))
# (max_string, items shown of a nested value), tried in turn until "keys" fits KEYS_BUDGET.
_KEYS_LADDER = ((80, 5), (40, 3), (24, 0))
# Every preview node costs at least two bytes ("0,"): an attempt visiting more cannot fit.
_PREVIEW_NODES = PREVIEW_BUDGET // 2 + 1


def _size(obj):
    return len(json.dumps(obj))


def _preview(payload, needles):
    """The deepest rung of the ladder that fits PREVIEW_BUDGET; at worst a one-line marker."""
    for limits in _PREVIEW_LADDER:
        try:
            preview = masking.bounded_copy(payload, needles, 0, limits, [_PREVIEW_NODES])
        except masking.OverBudget:
            continue
        if _size(preview) <= PREVIEW_BUDGET:
            return preview
    return masking.bounded_copy(payload, needles, 0, (0, 0, 12))


def _key_entry(key, value, needles, max_string, nested_items):
    masked = masking.matches(key, needles)
    entry = {"key": masking.safe_text(key, max_string), "type": masking.json_type(value), "masked": masked,
             "size": None if masked else masking.size_of(value)}
    if masked:
        entry["value"] = MASK
    elif isinstance(value, (Mapping, list, tuple)):  # a shallow preview: direct children only
        entry["value"] = masking.bounded_copy(value, needles, 0, (1 if nested_items else 0, nested_items, max_string // 2))
    else:
        entry["value"] = masking.safe_scalar(value, max_string)
    return entry


def _key_entries(payload, needles):
    """The first MAX_KEYS top-level keys, as many as fit KEYS_BUDGET, and how many were left out."""
    items = list(itertools.islice(payload.items(), MAX_KEYS))
    for max_string, nested_items in _KEYS_LADDER:
        entries = [_key_entry(k, v, needles, max_string, nested_items) for k, v in items]
        sizes = [_size(entry) + 2 for entry in entries]
        if sum(sizes) <= KEYS_BUDGET:
            break
    while sum(sizes) > KEYS_BUDGET:
        sizes.pop()
        entries.pop()
    return entries, len(payload) - len(entries)


def _nodes(node):
    """Every node of a parsed JMESPath expression."""
    if isinstance(node, dict):
        yield node
        for child in node.get("children", ()):
            yield from _nodes(child)


def _is_id(value):
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _path_kind(path, needles):
    """(compiled path, "sensitive" | "plain" | "other"); parsed and classified once per path."""
    if type(path) is str and len(path) <= _MEMO_PATH_CHARS:
        return _memo_path_kind(path, needles)
    return _classify_path(path, needles)


def _classify_path(path, needles):
    expression = jmespath.compile(path)
    nodes = list(_nodes(expression.parsed))
    if any(node.get("type") == "field" and masking.matches(node.get("value"), needles) for node in nodes):
        return expression, "sensitive"
    if all(node.get("type") in _PLAIN_NODES for node in nodes):
        return expression, "plain"
    return expression, "other"


_memo_path_kind = functools.lru_cache(maxsize=256)(_classify_path)


def _object_ids(payload, paths, needles):
    """{path: value} for each JMESPath yielding a string or integer; sensitive paths masked."""
    ids, masked_copy = {}, None
    for path in ((paths,) if isinstance(paths, str) else tuple(paths))[:MAX_OBJECT_IDS]:
        try:
            expression, kind = _path_kind(path, needles)
            if kind == "sensitive":
                value = MASK if _is_id(expression.search(payload)) else None
            elif kind == "plain":  # reads only what it names
                value = expression.search(payload)
            else:  # wildcards, filters, functions: search a copy with every sensitive value masked
                masked_copy = masking.mask_all(payload, needles, 0, {}) if masked_copy is None else masked_copy
                value = expression.search(masked_copy)
        except Exception:
            continue  # a path that does not parse or apply is simply not shown
        if _is_id(value):
            ids[masking.safe_text(path, 200)] = masking.safe_scalar(value, MAX_ID_CHARS)
    return ids


def summarize(payload, *, event_type="", object_id_paths=(), sensitive_keys=DEFAULT_SENSITIVE_KEYS,
              body_size=None) -> dict:
    """The stored summary of one payload: parsed JSON, or None when the body was unparseable."""
    size_ok = isinstance(body_size, int) and not isinstance(body_size, bool)
    head = {"event_type": masking.safe_text("" if event_type is None else event_type, 200),
            "body_size": masking.safe_scalar(body_size, 40) if size_ok else None}
    if payload is None:
        return {**head, "unparseable": True}
    try:
        needles = masking.needles_for(sensitive_keys)
        keys, more_keys = _key_entries(payload, needles) if isinstance(payload, Mapping) else ([], 0)
        return {**head, "unparseable": False,
                "payload_type": masking.json_type(payload), "payload_size": masking.size_of(payload),
                "object_ids": _object_ids(payload, object_id_paths or (), needles),
                "keys": keys, "more_keys": more_keys, "preview": _preview(payload, needles)}
    except Exception as exc:  # a summary must never stop an event from being stored
        return {**head, "unparseable": False, "error": f"summary failed: {type(exc).__name__}"}


