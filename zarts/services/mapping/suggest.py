"""Suggest a mapping rule for an event type from sample payloads, each suggestion with its reason.

paths() summarises every JSON path seen across the samples; suggest() reads that summary to find
the object the event is about (Stripe's data.object, GitHub's pull_request, Shopify's bare
resource) and proposes its id, time, version, status, a few fields and its money metrics;
as_rule() turns the suggestions into a rule that rules.validate() accepts. No Flask, no database.
Lists are summarised by their first element only ("line_items[0].price"): enough to see their
shape without walking every item.
"""
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from . import rules

SENSITIVE = frozenset({"password", "passwd", "token", "secret", "card", "cvc", "cvv", "iban", "ssn"})
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENUM = re.compile(r"[A-Za-z][\w\- ]{0,31}")
DECIMAL = re.compile(r"-?\d+(\.\d+)?")
TIME_NAMES = ("updated_at", "updated", "modified_at", "created_at", "created", "processed_at", "timestamp")
VERSION_NAMES = ("updated_at", "updated", "modified_at")
STATUS_NAMES = ("status", "state", "financial_status", "payment_status", "conclusion", "action")
MONEY_NAMES = ("amount", "amount_total", "amount_received", "amount_paid", "amount_due", "total_price", "total",
               "amount_refunded", "subtotal_price", "subtotal", "amount_captured", "amount_remaining",
               "current_total_price", "total_tax", "total_discounts")
FIELD_NAMES = ("email", "customer_email", "contact_email", "name", "title", "number", "order_number", "customer",
               "description", "currency", "html_url", "merged", "billing_reason", "source_name")
OBJECT_TYPE_BY_NAME = {  # pull requests, pushes and releases are "delivery" as in the shipped GitHub mapping
    "charge": "payment", "payment_intent": "payment", "checkout.session": "order", "issue_comment": "issue",
    "pull_request": "delivery", "push": "delivery", "release": "delivery", "contact": "lead",
    "check_run": "record", "workflow_run": "record"}
MAX_FIELDS, MAX_METRICS, MAX_ENUM_VALUES = 8, 3, 20
JSON_TYPES = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string", dict: "object",
              list: "array"}
SCALARS = {"string", "integer", "number", "boolean", "null"}


@dataclass(frozen=True)
class PathStats:
    """One JSON path seen across the samples."""

    path: str  # JMESPath-ready: "data.object.amount", "\"key-with-dash\"", lists as "line_items[0].price"
    types: tuple[str, ...]  # JSON types seen, sorted
    present: int  # samples where the path is present and not null
    total: int  # samples looked at
    examples: tuple  # up to 3 distinct scalar values, strings cut to 80 characters


@dataclass(frozen=True)
class Suggestion:
    """One proposed part of a rule, and why."""

    target: str  # "object_type", "external_id", "occurred_at", "version", "status", "field:<name>", "metric:<name>"
    expression: str  # a JMESPath; for object_type one of rules.OBJECT_TYPES; for a metric its value
    why: str
    extra: dict = field(default_factory=dict)  # metrics: unit, currency (JMESPath or None), scale, period


def paths(samples, max_depth=8, max_paths=2000):
    """Every path across the samples, sorted by path; each sample walks at most max_paths nodes."""
    return sorted(_collect(samples, max_depth, max_paths).values(), key=lambda stats: stats.path)


def _collect(samples, max_depth=8, max_paths=2000):
    """{path segments: PathStats}; a segment is a key, or 0 for a list's first element."""
    samples = [sample for sample in samples if isinstance(sample, dict)]
    seen = {}
    for sample in samples:
        _walk(sample, (), seen, max_depth, max_paths, [max_paths])
    return {segments: PathStats(_path(segments), tuple(sorted(types)), present, len(samples), tuple(examples))
            for segments, (types, present, examples) in seen.items()}


def _walk(value, segments, seen, max_depth, max_paths, budget, hidden=False):
    """Record value's children in seen; budget is a one-item list: the nodes this sample may still visit.
    Values at or under a sensitive key (password, token, card...) are never kept as examples."""
    items = value.items() if isinstance(value, dict) else [(0, value[0])] if isinstance(value, list) and value else ()
    for key, child in items:
        if budget[0] <= 0:
            return
        budget[0] -= 1
        path = (*segments, key)
        if path not in seen:
            if len(seen) >= max_paths:
                continue
            seen[path] = [set(), 0, []]
        entry = seen[path]
        entry[0].add(JSON_TYPES.get(type(child), type(child).__name__))
        entry[1] += child is not None
        secret = hidden or (isinstance(key, str) and _sensitive(key))
        example = child[:80] if isinstance(child, str) else child
        if not secret and isinstance(child, (str, int, float)) and len(entry[2]) < 3 and not any(
                type(e) is type(example) and e == example for e in entry[2]):
            entry[2].append(example)
        if isinstance(child, (dict, list)) and len(path) < max_depth:
            _walk(child, path, seen, max_depth, max_paths, budget, secret)


def _path(segments):
    """Segments as JMESPath: keys that are not identifiers are quoted, a list's first element is [0]."""
    text = ""
    for segment in segments:
        if not isinstance(segment, str):
            text += "[0]"
        else:
            text += ("." if text else "") + (segment if IDENTIFIER.fullmatch(segment) else json.dumps(segment))
    return text


def _sensitive(key):
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(key)).lower()
    return any(word in SENSITIVE for word in re.split(r"[^a-z0-9]+", words))


def _values(samples, segments):
    """The value at segments in each sample (None where absent)."""
    found = []
    for value in samples:
        for segment in segments:
            if isinstance(segment, str):
                value = value.get(segment) if isinstance(value, dict) else None
            else:
                value = value[0] if isinstance(value, list) and value else None
        found.append(value)
    return found


def _count(stats):
    return f"{stats.present} of {stats.total}"


def _show(value):
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 24 else text[:24] + "…"


@dataclass
class _Context:
    """What the heuristics share: the samples, their paths and the object the event is about."""

    samples: list
    stats: dict
    names: tuple  # the event type's names: "charge", "orders", "order", "checkout.session", ...
    obj: tuple = ()  # path segments of the object the event is about; () for the payload itself
    label: str = "the payload"
    kind: str | None = None  # the object's name: "charge", "pull_request", ...

    def child(self, key, segments=None):
        """The stats of key under segments (default: the object); None when absent or sensitive."""
        stats = self.stats.get((*(self.obj if segments is None else segments), key))
        return None if stats is None or _sensitive(key) else stats


def suggest(event_type, samples):
    """Suggestions for one event type's rule from its sample payloads (dicts); [] without samples."""
    samples = [sample for sample in samples if isinstance(sample, dict)]
    if not samples:
        return []
    parts = [part.lower() for part in re.split(r"[./]", str(event_type)) if part]
    names = [".".join(parts[:i]) for i in range(2, len(parts) + 1)] + parts
    names += [name[:-1] for name in names if name.endswith("s") and len(name) > 3]
    ctx = _Context(samples, _collect(samples), tuple(names))
    found = [_object(ctx)]
    found += [s for s in (_external_id(ctx), _occurred_at(ctx), _version(ctx), _status(ctx)) if s]
    return found + _fields(ctx) + _metrics(ctx)


def _object(ctx):
    """Find the object the event is about (setting ctx.obj) and suggest its object_type."""
    best, why = (0, 0), "no object in the payload is named after the event type: the payload is the resource itself"
    for segments, stats in ctx.stats.items():
        if not (1 <= len(segments) <= 2 and stats.types == ("object",) and stats.present == stats.total
                and all(isinstance(s, str) and not _sensitive(s) for s in segments)):
            continue
        kinds = [k for key in ("object", "type") for k in _values(ctx.samples, (*segments, key)) if k]
        if kinds and all(isinstance(kind, str) and kind in ctx.names for kind in kinds):
            kind, score = min(kinds), 3
            reason = f"{stats.path} says it is {kind!r} (its object/type key), as the event type does"
        elif segments[-1] in ctx.names:
            kind, score, reason = segments[-1], 2, f"{stats.path} is named after the event type"
        elif stats.path in ("data.object", "data") and ctx.child("id", segments):
            kind, score, reason = None, 1, f"{stats.path} is the usual envelope around the resource and has an id"
        else:
            continue
        if (score, len(segments)) > best:
            best, why, ctx.obj, ctx.label, ctx.kind = (score, len(segments)), reason, segments, stats.path, kind
    for name in [ctx.kind, *ctx.names]:
        object_type = OBJECT_TYPE_BY_NAME.get(name) or (name if name in rules.OBJECT_TYPES else None)
        if object_type:
            return Suggestion("object_type", object_type, f"{why}; {name!r} maps to the object type {object_type!r}")
    return Suggestion("object_type", "record", f"{why}; nothing names a known object type, so a plain record")


def _external_id(ctx):
    stats = ctx.child("id")
    if stats and stats.present == stats.total and set(stats.types) <= {"string", "integer"}:
        distinct = len({repr(value) for value in _values(ctx.samples, (*ctx.obj, "id"))})
        why = (f"an id-like {'/'.join(stats.types)} on {ctx.label}, present in every sample ({_count(stats)}), "
               f"{distinct} distinct, e.g. {_show(stats.examples[0])}")
        envelope = ctx.child("id", ())
        if ctx.obj and envelope and envelope.examples:
            why += f"; not the envelope's id ({_show(envelope.examples[0])}), which names the event, not the object"
        if ctx.obj and ctx.child("number") and ctx.child("repository", ()):
            why += (f"; not {_path((*ctx.obj, 'number'))}, which is only unique within its repository "
                    "(the shipped GitHub mapping joins it with repository.full_name)")
        return Suggestion("external_id", stats.path, why)
    for segments, key in ((ctx.obj, "uuid"), ((), "id"), ((), "uuid")):
        stats = ctx.child(key, segments)
        if stats and stats.present == stats.total and set(stats.types) <= {"string", "integer"}:
            return Suggestion("external_id", stats.path, f"no id on {ctx.label}; {stats.path} is present in every "
                                                         f"sample ({_count(stats)}), e.g. {_show(stats.examples[0])}"
                                                         "; check that it names the object, not the delivery")
    return None  # a push, say: no id of its own, so the rule needs a composed key written by hand


def _is_time(value):
    """Unix seconds or milliseconds, or an ISO-8601 date/datetime: what rules accept for occurred_at."""
    if type(value) in (int, float):
        return 1e8 <= value < 1e14  # unix seconds or milliseconds after 1973
    try:
        return isinstance(value, str) and len(value) >= 10 and bool(datetime.fromisoformat(value.strip()))
    except ValueError:
        return False


def _occurred_at(ctx):
    """The object's update time, else its creation time, else the envelope's, else another *_at of the object."""
    others = sorted(s[-1] for s in ctx.stats if s[:-1] == ctx.obj and str(s[-1]).endswith("_at")
                    and s[-1] not in TIME_NAMES)
    passes = [(ctx.obj, TIME_NAMES, ctx.label), ((), TIME_NAMES, "the envelope"), (ctx.obj, others, ctx.label)]
    for segments, keys, where in passes if ctx.obj else passes[::2]:
        usable = [(key, ctx.child(key, segments)) for key in keys if ctx.child(key, segments) and all(
            map(_is_time, [v for v in _values(ctx.samples, (*segments, key)) if v is not None]))]
        if not usable:
            continue
        (key, first), kind = usable[0], "an ISO-8601 string" if "string" in usable[0][1].types else "unix time"
        what = "update time" if key in VERSION_NAMES else "creation time" if "creat" in key else "a time"
        if first.present == first.total:
            return Suggestion("occurred_at", first.path, f"the {what} of {where} ({kind}), present in every sample "
                                                         f"({_count(first)}), e.g. {_show(first.examples[0])}")
        return Suggestion("occurred_at", " || ".join(stats.path for _, stats in usable),
                          f"no time on {where} is present in every sample ({first.path}: {_count(first)}): "
                          "the first of these that is set")
    return None


def _version(ctx):
    for key in VERSION_NAMES:
        stats = ctx.child(key)
        if stats and stats.present and set(stats.types) <= {"string", "integer", "null"}:
            return Suggestion("version", stats.path, f"{ctx.label}'s update time orders its events (present in "
                                                     f"{_count(stats)}): an older event never replaces a newer one")
    return None


def _status(ctx):
    candidates = [(ctx.obj, key) for key in STATUS_NAMES] + ([((), "action")] if ctx.obj else [])
    for segments, key in candidates:
        stats = ctx.child(key, segments)
        values = {v for v in _values(ctx.samples, (*segments, key)) if v is not None} if stats else ()
        if values and len(values) <= MAX_ENUM_VALUES and all(isinstance(v, str) and ENUM.fullmatch(v) for v in values):
            where = ctx.label if segments == ctx.obj else "the envelope (the object has no status)"
            return Suggestion("status", stats.path, f"a short enum-like string on {where}, present in "
                                                    f"{_count(stats)}, {len(values)} distinct: "
                                                    f"{', '.join(sorted(values)[:5])}")
    return None


def _fields(ctx):
    found = []
    for key in FIELD_NAMES:
        stats = ctx.child(key)
        if stats and stats.present and set(stats.types) <= SCALARS and len(found) < MAX_FIELDS:
            found.append(Suggestion(f"field:{key}", stats.path, f"a useful {'/'.join(stats.types)} on {ctx.label}, "
                                                                f"present in {_count(stats)}, "
                                                                f"e.g. {_show(stats.examples[0])}"))
    return found


def _metrics(ctx):
    currency = ctx.child("currency")
    codes = [v for v in _values(ctx.samples, (*ctx.obj, "currency")) if v is not None] if currency else []
    if not codes or not all(isinstance(code, str) and rules.CURRENCY.fullmatch(code) for code in codes):
        return []  # a money amount needs its currency beside it
    found = []
    for key in MONEY_NAMES:
        stats = ctx.child(key)
        values = [v for v in _values(ctx.samples, (*ctx.obj, key)) if v is not None] if stats else []
        if not values or not all(type(v) in (int, float) or isinstance(v, str) and DECIMAL.fullmatch(v)
                                 for v in values):
            continue
        cents = all(type(v) is int for v in values) and all(code.islower() for code in codes)
        why = (f"a money amount on {ctx.label} with its currency beside it ({currency.path}, e.g. {codes[0]}), "
               f"present in {_count(stats)}, e.g. {_show(values[0])}; ")
        why += ("integers with a lower-case currency code are minor units (Stripe's convention): scale 0.01"
                if cents else "a decimal amount in whole units: scale 1" if not all(type(v) is int for v in values)
                else "integers with an upper-case currency code: taken as whole units (scale 1), check")
        found.append(Suggestion(f"metric:{key}", stats.path, why, {
            "unit": codes[0].upper(), "currency": currency.path, "scale": 0.01 if cents else 1, "period": "month"}))
    return found[:MAX_METRICS]


def as_rule(suggestions):
    """A rule from suggestions, for {"version": 1, "events": {event_type: rule}}; ValueError without an id."""
    rule, fields, metrics = {"object_type": "record"}, {}, []
    for suggestion in suggestions:
        kind, _, name = suggestion.target.partition(":")
        if kind == "field":
            fields[name] = suggestion.expression
        elif kind == "metric":
            extra = suggestion.extra
            metric = {"name": name, "value": suggestion.expression, "scale": extra.get("scale", 1),
                      "unit": extra.get("unit") or "count", "currency": extra.get("currency"),
                      "period": extra.get("period", "month")}
            metrics.append({k: v for k, v in metric.items() if v is not None and not (k == "scale" and v == 1)})
        else:
            rule[kind] = suggestion.expression
    if "external_id" not in rule:
        raise ValueError("no external_id was suggested: the samples show no id present in every one")
    rule.update(fields=fields, metrics=metrics)
    return {key: rule[key] for key in rules.RULE_KEYS if rule.get(key)}
