"""Payload summaries: what admin screens show instead of a raw webhook payload.

A summary is computed once, when a webhook is accepted, and stored as JSON. Whatever the input it
is JSON-serialisable, bounded in size and free of the values found under sensitive keys, and it
never raises: a summary must never be the reason an event is not stored. This module is the one
place that decides what is masked; the webhooks blueprint, the jobs and the CLI all call it.
"""
import functools
import itertools
import json
import math
import unicodedata
from collections.abc import Mapping

import jmespath

__all__ = ["DEFAULT_SENSITIVE_KEYS", "MASK", "is_sensitive", "redact", "summarize", "mask_headers"]

DEFAULT_SENSITIVE_KEYS = ("password", "secret", "token", "authorization", "card", "iban", "ssn",
                          "email", "phone", "address")
MASK = "•••"
# Header names are secret on these words as well as on the sensitive keys.
HEADER_SENSITIVE_WORDS = ("auth", "signature", "hmac", "cookie", "apikey", "session")
DEPTH_CAP = 64  # no recursion deeper than this, whatever a caller asks for
PREVIEW_BUDGET = 4096  # bytes of json.dumps output (ASCII-escaped, so an upper bound on UTF-8)
KEYS_BUDGET = 8192
# JMESPath nodes of a plain chain of names and indexes, like "data.object.id" or "items[0].id".
_PLAIN_NODES = ("field", "subexpression", "index_expression", "index")
MAX_KEYS, MAX_OBJECT_IDS, MAX_ID_CHARS, MAX_HEADERS = 50, 10, 64, 100
_MEMO_KEY_CHARS = 200  # key names and paths up to this long are decided once per process (LRU)
# (max_depth, max_items, max_string), tried in turn until the preview fits PREVIEW_BUDGET.
_PREVIEW_LADDER = ((6, 20, 80), (4, 10, 60), (3, 10, 40), (2, 5, 40), (1, 5, 24), (1, 3, 12))
# (max_string, items shown of a nested value), tried in turn until "keys" fits KEYS_BUDGET.
_KEYS_LADDER = ((80, 5), (40, 3), (24, 0))
# Exact JSON scalar types, decided without the (slower) abstract Mapping check.
_PLAIN_SCALARS = frozenset((str, int, float, bool, type(None)))
# Every preview node costs at least two bytes ("0,"): an attempt visiting more cannot fit.
_PREVIEW_NODES = PREVIEW_BUDGET // 2 + 1


class _OverBudget(Exception):
    """A preview attempt visited more nodes than could ever fit its budget."""


def _normalise(text):
    """Casefolded letters and digits only, so "X-Api-Token", "api_token", "ApiToken" compare equal."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


@functools.lru_cache(maxsize=64)
def _needles_of(words):
    return tuple(n for n in dict.fromkeys(_normalise(w) for w in words) if n)


def _needles(sensitive_keys):
    """The normalised sensitive words; a lone string is one word; None or junk means the defaults."""
    if isinstance(sensitive_keys, str):
        sensitive_keys = (sensitive_keys,)
    if type(sensitive_keys) is tuple and all(type(word) is str for word in sensitive_keys):
        return _needles_of_words(sensitive_keys)  # the configured tuple: worked out once
    try:
        return _needles_of(tuple(_text(word, 200) for word in sensitive_keys))
    except TypeError:
        return _needles_of(DEFAULT_SENSITIVE_KEYS)


@functools.lru_cache(maxsize=64)
def _needles_of_words(words):
    return _needles_of(tuple(_text(word, 200) for word in words))


def _matches(key, needles):
    try:
        if type(key) is str and len(key) <= _MEMO_KEY_CHARS:
            return _str_matches(key, needles)  # payloads repeat their key names: decide each once
        name = _normalise(key if isinstance(key, str) else str(key))
    except Exception:
        return True  # a key that cannot even be read is masked: err on the side of masking
    return any(needle in name for needle in needles)


@functools.lru_cache(maxsize=4096)
def _str_matches(key, needles):
    name = _normalise(key)
    return any(needle in name for needle in needles)


def is_sensitive(key, sensitive_keys=DEFAULT_SENSITIVE_KEYS) -> bool:
    """True when a sensitive word occurs in the key name, ignoring case, punctuation and width."""
    return _matches(key, _needles(sensitive_keys))


def _string(text, limit):
    """`text` cut to `limit` characters plus "…(+N chars)"; lone surrogates become "?"."""
    if len(text) > limit:
        text = f"{text[:limit]}…(+{len(text) - limit} chars)"
    if text.isascii():  # nothing to replace; the common case, checked without encoding
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _text(value, limit):
    try:
        return _string(value if isinstance(value, str) else str(value), limit)
    except Exception:
        return f"<{type(value).__name__}>"


def _scalar(value, max_string):
    """A JSON-safe scalar: non-finite floats and ints wider than 64 bits become text."""
    if type(value) is str:
        return _string(value, max_string)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value.bit_length() <= 64:
            return int(value)
        try:
            return _string(str(value), max_string)
        except ValueError:  # beyond Python's int-to-str digit limit
            return f"<integer of ~{int(value.bit_length() * 0.30103)} digits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return _text(value, max_string)


def _kind(value):
    """The JSON type name of a value ("other" for what JSON cannot hold)."""
    for types, name in ((Mapping, "object"), ((list, tuple), "array"), (type(None), "null"),
                        (bool, "boolean"), ((int, float), "number"), (str, "string")):
        if isinstance(value, types):
            return name
    return "other"


def _size_of(value):
    return len(value) if isinstance(value, (str, Mapping, list, tuple)) else None


def _count(number, noun):
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _marker(value):
    if isinstance(value, Mapping):
        return f"…(object, {_count(len(value), 'key')})"
    return f"…(array, {_count(len(value), 'item')})"


def _redact(value, needles, depth, limits, budget=None):
    max_depth, max_items, max_string = limits
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise _OverBudget
    kind = type(value)
    if kind in _PLAIN_SCALARS or not (kind is dict or kind is list or isinstance(value, (Mapping, list, tuple))):
        return _scalar(value, max_string)
    if depth >= max_depth:
        return _marker(value)
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        out = {}
        for key, item in itertools.islice(value.items(), max_items):
            out[_text(key, max_string)] = (
                MASK if _matches(key, needles) else _redact(item, needles, depth + 1, limits, budget))
        if len(value) > max_items:
            out["…"] = f"+{_count(len(value) - max_items, 'more key')}"
        return out
    out = [_redact(item, needles, depth + 1, limits, budget) for item in value[:max_items]]
    if len(value) > max_items:
        out.append(f"…(+{_count(len(value) - max_items, 'more item')})")
    return out


def redact(value, sensitive_keys=DEFAULT_SENSITIVE_KEYS, max_string=80, max_depth=6, max_items=20):
    """A JSON-safe copy of `value`: sensitive keys' values masked, everything else bounded.

    Strings over `max_string` characters are cut with a marker, arrays and objects keep their first
    `max_items` entries plus a marker, containers deeper than `max_depth` (at most 64) become a
    marker. The input is never mutated.
    """
    try:
        limits = (max(0, min(int(max_depth), DEPTH_CAP)), max(0, int(max_items)), max(0, int(max_string)))
        return _redact(value, _needles(sensitive_keys), 0, limits)
    except Exception as exc:
        return f"<unrepresentable: {type(exc).__name__}>"


def _size(obj):
    return len(json.dumps(obj))


def _preview(payload, needles):
    """The deepest rung of the ladder that fits PREVIEW_BUDGET; at worst a one-line marker."""
    for limits in _PREVIEW_LADDER:
        try:
            preview = _redact(payload, needles, 0, limits, [_PREVIEW_NODES])
        except _OverBudget:
            continue
        if _size(preview) <= PREVIEW_BUDGET:
            return preview
    return _redact(payload, needles, 0, (0, 0, 12))


def _key_entry(key, value, needles, max_string, nested_items):
    masked = _matches(key, needles)
    entry = {"key": _text(key, max_string), "type": _kind(value), "masked": masked,
             "size": None if masked else _size_of(value)}
    if masked:
        entry["value"] = MASK
    elif isinstance(value, (Mapping, list, tuple)):  # a shallow preview: direct children only
        entry["value"] = _redact(value, needles, 0, (1 if nested_items else 0, nested_items, max_string // 2))
    else:
        entry["value"] = _scalar(value, max_string)
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


def _mask_all(value, needles, depth, memo):
    """A full copy with every sensitive value masked, for JMESPath to search safely."""
    if not isinstance(value, (Mapping, list, tuple)):
        return value
    if depth > DEPTH_CAP:
        return None
    if id(value) not in memo:  # shared or cyclic containers are copied once
        if isinstance(value, Mapping):
            memo[id(value)] = {k: MASK if _matches(k, needles) else _mask_all(v, needles, depth + 1, memo)
                               for k, v in value.items()}
        else:
            memo[id(value)] = [_mask_all(v, needles, depth + 1, memo) for v in value]
    return memo[id(value)]


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
    if type(path) is str and len(path) <= _MEMO_KEY_CHARS:
        return _memo_path_kind(path, needles)
    return _classify_path(path, needles)


def _classify_path(path, needles):
    expression = jmespath.compile(path)
    nodes = list(_nodes(expression.parsed))
    if any(node.get("type") == "field" and _matches(node.get("value"), needles) for node in nodes):
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
                masked_copy = _mask_all(payload, needles, 0, {}) if masked_copy is None else masked_copy
                value = expression.search(masked_copy)
        except Exception:
            continue  # a path that does not parse or apply is simply not shown
        if _is_id(value):
            ids[_text(path, 200)] = _scalar(value, MAX_ID_CHARS)
    return ids


def summarize(payload, *, event_type="", object_id_paths=(), sensitive_keys=DEFAULT_SENSITIVE_KEYS,
              body_size=None) -> dict:
    """The stored summary of one payload: parsed JSON, or None when the body was unparseable."""
    size_ok = isinstance(body_size, int) and not isinstance(body_size, bool)
    head = {"event_type": _text("" if event_type is None else event_type, 200),
            "body_size": _scalar(body_size, 40) if size_ok else None}
    if payload is None:
        return {**head, "unparseable": True}
    try:
        needles = _needles(sensitive_keys)
        keys, more_keys = _key_entries(payload, needles) if isinstance(payload, Mapping) else ([], 0)
        return {**head, "unparseable": False,
                "payload_type": _kind(payload), "payload_size": _size_of(payload),
                "object_ids": _object_ids(payload, object_id_paths or (), needles),
                "keys": keys, "more_keys": more_keys, "preview": _preview(payload, needles)}
    except Exception as exc:  # a summary must never stop an event from being stored
        return {**head, "unparseable": False, "error": f"summary failed: {type(exc).__name__}"}


def mask_headers(headers, sensitive_keys=DEFAULT_SENSITIVE_KEYS) -> dict:
    """Headers to store with a raw event: secret ones masked, names and values cut to 200 chars.

    Takes a dict, Werkzeug Headers or (name, value) pairs; a repeated name's values are joined
    with ", "; at most 100 names are kept.
    """
    needles = _needles_of(_needles(sensitive_keys) + HEADER_SENSITIVE_WORDS)
    out = {}
    try:
        for name, value in headers.items() if hasattr(headers, "items") else headers:
            key = _text(name, 200)
            if key in out or len(out) < MAX_HEADERS:
                shown = MASK if _matches(name, needles) else _text(value, 200)
                out[key] = shown if key not in out or shown == MASK else _string(f"{out[key]}, {shown}", 200)
    except Exception:
        pass  # keep the headers read before a malformed entry
    return out
