"""Masking: the one place that decides which values are hidden from people.

A key is sensitive when one of the configured words occurs in its name, ignoring case,
punctuation and width ("X-Api-Token", "api_token" and "ApiToken" all match "token"). Summaries,
stored headers, the mapping preview and every other view of provider data mask through here.
Nothing here raises on odd input: masking must never be the reason something fails.
"""
import functools
import itertools
import math
import unicodedata
from collections.abc import Mapping

DEFAULT_SENSITIVE_KEYS = ("password", "secret", "token", "authorization", "card", "iban", "ssn",
                          "email", "phone", "address")
MASK = "•••"
# Header names are secret on these words as well as on the sensitive keys.
HEADER_SENSITIVE_WORDS = ("auth", "signature", "hmac", "cookie", "apikey", "session")
DEPTH_CAP = 64  # no recursion deeper than this, whatever a caller asks for
MAX_HEADERS = 100
_MEMO_KEY_CHARS = 200  # key names up to this long are decided once per process (LRU)
# Exact JSON scalar types, decided without the (slower) abstract Mapping check.
_PLAIN_SCALARS = frozenset((str, int, float, bool, type(None)))


class OverBudget(Exception):
    """A preview attempt visited more nodes than could ever fit its budget."""


def _normalise(text):
    """Casefolded letters and digits only, so "X-Api-Token", "api_token", "ApiToken" compare equal."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


@functools.lru_cache(maxsize=64)
def _needles_of(words):
    return tuple(n for n in dict.fromkeys(_normalise(w) for w in words) if n)


def needles_for(sensitive_keys):
    """The normalised sensitive words; a lone string is one word; None or junk means the defaults."""
    if isinstance(sensitive_keys, str):
        sensitive_keys = (sensitive_keys,)
    if type(sensitive_keys) is tuple and all(type(word) is str for word in sensitive_keys):
        return _needles_of_words(sensitive_keys)  # the configured tuple: worked out once
    try:
        return _needles_of(tuple(safe_text(word, 200) for word in sensitive_keys))
    except TypeError:
        return _needles_of(DEFAULT_SENSITIVE_KEYS)


@functools.lru_cache(maxsize=64)
def _needles_of_words(words):
    return _needles_of(tuple(safe_text(word, 200) for word in words))


def matches(key, needles):
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
    return matches(key, needles_for(sensitive_keys))


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


def safe_text(value, limit):
    try:
        return _string(value if isinstance(value, str) else str(value), limit)
    except Exception:
        return f"<{type(value).__name__}>"


def safe_scalar(value, max_string):
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
    return safe_text(value, max_string)


def json_type(value):
    """The JSON type name of a value ("other" for what JSON cannot hold)."""
    for types, name in ((Mapping, "object"), ((list, tuple), "array"), (type(None), "null"),
                        (bool, "boolean"), ((int, float), "number"), (str, "string")):
        if isinstance(value, types):
            return name
    return "other"


def size_of(value):
    return len(value) if isinstance(value, (str, Mapping, list, tuple)) else None


def _count(number, noun):
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _marker(value):
    if isinstance(value, Mapping):
        return f"…(object, {_count(len(value), 'key')})"
    return f"…(array, {_count(len(value), 'item')})"


def bounded_copy(value, needles, depth, limits, budget=None):
    max_depth, max_items, max_string = limits
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise OverBudget
    kind = type(value)
    if kind in _PLAIN_SCALARS or not (kind is dict or kind is list or isinstance(value, (Mapping, list, tuple))):
        return safe_scalar(value, max_string)
    if depth >= max_depth:
        return _marker(value)
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        out = {}
        for key, item in itertools.islice(value.items(), max_items):
            out[safe_text(key, max_string)] = (
                MASK if matches(key, needles) else bounded_copy(item, needles, depth + 1, limits, budget))
        if len(value) > max_items:
            out["…"] = f"+{_count(len(value) - max_items, 'more key')}"
        return out
    out = [bounded_copy(item, needles, depth + 1, limits, budget) for item in value[:max_items]]
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
        return bounded_copy(value, needles_for(sensitive_keys), 0, limits)
    except Exception as exc:
        return f"<unrepresentable: {type(exc).__name__}>"


def mask_all(value, needles, depth, memo):
    """A full copy with every sensitive value masked, for JMESPath to search safely."""
    if not isinstance(value, (Mapping, list, tuple)):
        return value
    if depth > DEPTH_CAP:
        return None
    if id(value) not in memo:  # shared or cyclic containers are copied once
        if isinstance(value, Mapping):
            memo[id(value)] = {k: MASK if matches(k, needles) else mask_all(v, needles, depth + 1, memo)
                               for k, v in value.items()}
        else:
            memo[id(value)] = [mask_all(v, needles, depth + 1, memo) for v in value]
    return memo[id(value)]


def mask_headers(headers, sensitive_keys=DEFAULT_SENSITIVE_KEYS) -> dict:
    """Headers to store with a raw event: secret ones masked, names and values cut to 200 chars.

    Takes a dict, Werkzeug Headers or (name, value) pairs; a repeated name's values are joined
    with ", "; at most 100 names are kept.
    """
    needles = _needles_of(needles_for(sensitive_keys) + HEADER_SENSITIVE_WORDS)
    out = {}
    try:
        for name, value in headers.items() if hasattr(headers, "items") else headers:
            key = safe_text(name, 200)
            if key in out or len(out) < MAX_HEADERS:
                shown = MASK if matches(name, needles) else safe_text(value, 200)
                out[key] = shown if key not in out or shown == MASK else _string(f"{out[key]}, {shown}", 200)
    except Exception:
        pass  # keep the headers read before a malformed entry
    return out
