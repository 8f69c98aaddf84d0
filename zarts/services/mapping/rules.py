"""Mappings: JMESPath rules that turn a provider payload into a normalized record.

A mapping is data: ``{"version": 1, "events": {event type: rule}, "event_types_ignored": [...]}``,
plus an optional "csv" section for manual CSV files (see csv_columns).
The rule under the event type "*" is the default: it maps any event type that has no rule of its
own and is not listed as ignored (so an unknown sender's events become records, not silence); an
event without a type never matches it.
validate() lists every problem in one; apply() maps one payload with one rule. No Flask, no
database. A MappingError is permanent: retrying the same payload cannot help. Metric values are
the record's current state: the newest event for a record replaces them, never adds to them.
A metric's unit is its "unit", unless its optional "currency" expression finds a three-letter
currency code in the payload (Stripe's "usd", Shopify's "EUR"): then that code, upper-cased.
A rule's optional "fields_from" finds an object whose keys become fields too (those the rule does
not name itself; a CSV file's columns the mapping does not use arrive this way, as "extra").
"""
import json
import math
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, DecimalException
from functools import lru_cache

import jmespath

from .. import storable_text
from . import csv_columns

OBJECT_TYPES = ("payment", "refund", "invoice", "subscription", "order", "lead", "delivery",
                "csv_import", "customer", "issue", "record")
PERIODS = ("day", "week", "month", "quarter")
RULE_KEYS = ("object_type", "external_id", "occurred_at", "version", "status", "status_map",
             "fields", "fields_from", "metrics")
METRIC_KEYS = ("name", "value", "scale", "unit", "currency", "period")
DEFAULT_RULE = "*"  # the event type whose rule maps every event type without one of its own
FIELD_NAME, METRIC_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}"), re.compile(r"[a-z][a-z0-9_]{0,99}")
CURRENCY = re.compile(r"[A-Za-z]{3}")
MAX_EXPRESSION, MAX_ID, MAX_SHORT = 1000, 255, 64  # MAX_SHORT: status and version columns
MAX_TEXT, MAX_FIELD_JSON = 2000, 10_000  # longer strings are cut; bigger lists/objects refused
MAX_FIELDS_FROM = 100  # fields a "fields_from" object may add to one record
METRIC_LIMIT, FOUR_PLACES = Decimal(10) ** 16, Decimal("0.0001")  # Numeric(20, 4)


class MappingError(ValueError):
    """A mapping is invalid, or cannot be applied to a payload (permanent: retrying won't help)."""


@dataclass(frozen=True)
class MetricPoint:
    """One metric value, stated for the record's current state."""

    name: str
    value: Decimal
    unit: str
    period: str


@dataclass(frozen=True)
class MappedRecord:
    """A payload in ZartsAlgo terms, upserted by (object_type, external_id)."""

    object_type: str
    external_id: str
    occurred_at: datetime | None
    version: str | None
    provider_status: str | None
    status: str | None
    fields: dict
    metrics: tuple[MetricPoint, ...]


@lru_cache(maxsize=4096)
def _compiled(expression):
    return jmespath.compile(expression)


def validate(mapping):
    """Every problem in a mapping as "path: what is wrong"; [] when it is valid."""
    if not isinstance(mapping, dict):
        return ["mapping: must be an object"]
    problems = [f"mapping: unknown key {k!r}" for k in mapping
                if k not in ("version", "events", "event_types_ignored", "csv")]
    if type(mapping.get("version", 1)) is not int or mapping.get("version", 1) != 1:
        problems.append("version: must be 1")
    events = mapping.get("events")
    if not isinstance(events, dict):
        problems.append("events: required, an object of event type -> rule")
        events = {}
    for event_type, rule in events.items():
        problems += _rule_problems(rule, f"events.{event_type}")
    ignored = mapping.get("event_types_ignored", [])
    for i, event_type in enumerate(ignored if isinstance(ignored, list) else [None]):
        if not isinstance(event_type, str) or not event_type:
            problems.append(f"event_types_ignored[{i}]: must be a non-empty string (in a list)")
        elif event_type == DEFAULT_RULE:
            problems.append(f"event_types_ignored[{i}]: {DEFAULT_RULE!r} names the default rule, not an event type")
        elif event_type in events:
            problems.append(f"event_types_ignored[{i}]: {event_type!r} also has a rule")
    if "csv" in mapping:  # how a manual CSV file's columns fill the "row" events
        problems += csv_columns.section_problems(mapping["csv"])
    return problems


def _rule_problems(rule, path):
    if not isinstance(rule, dict):
        return [f"{path}: must be an object"]
    problems = [f"{path}: unknown key {k!r}" for k in rule if k not in RULE_KEYS]
    if rule.get("object_type") not in OBJECT_TYPES:
        problems.append(f"{path}.object_type: required, one of {', '.join(OBJECT_TYPES)}")
    if "external_id" not in rule:
        problems.append(f"{path}.external_id: required")
    for key in ("external_id", "occurred_at", "version", "status", "fields_from"):
        if key in rule:
            problems += _expression_problems(rule[key], f"{path}.{key}")
    status_map = rule.get("status_map", {})
    if not isinstance(status_map, dict) or not all(
            isinstance(s, str) and 0 < len(s) <= MAX_SHORT for s in [*status_map, *status_map.values()]):
        problems.append(f"{path}.status_map: must map provider statuses to statuses (1-64 characters)")
    elif status_map and "status" not in rule:
        problems.append(f"{path}.status_map: needs a status expression")
    fields = rule.get("fields", {})
    if not isinstance(fields, dict):
        problems.append(f"{path}.fields: must be an object of field name -> JMESPath")
    for name, expression in fields.items() if isinstance(fields, dict) else ():
        if not (isinstance(name, str) and FIELD_NAME.fullmatch(name)):
            problems.append(f"{path}.fields.{name}: invalid field name (want ^[a-z][a-z0-9_]{{0,63}}$)")
        problems += _expression_problems(expression, f"{path}.fields.{name}")
    metrics = rule.get("metrics", [])
    if not isinstance(metrics, list):
        return problems + [f"{path}.metrics: must be a list"]
    seen = set()
    for i, metric in enumerate(metrics):
        problems += _metric_problems(metric, f"{path}.metrics[{i}]", seen)
    return problems


def _metric_problems(metric, path, seen):
    if not isinstance(metric, dict):
        return [f"{path}: must be an object"]
    problems = [f"{path}: unknown key {k!r}" for k in metric if k not in METRIC_KEYS]
    name, value, unit = metric.get("name"), metric.get("value"), metric.get("unit")
    if not (isinstance(name, str) and METRIC_NAME.fullmatch(name)):
        problems.append(f"{path}.name: must match ^[a-z][a-z0-9_]{{0,99}}$")
    elif name in seen:  # values are keyed (record, name): the second would overwrite the first
        problems.append(f"{path}.name: {name!r} appears twice in this rule")
    seen.add(name if isinstance(name, str) else None)
    if isinstance(value, str):
        problems += _expression_problems(value, f"{path}.value")
    elif not _is_number(value):
        problems.append(f"{path}.value: must be a JMESPath string or a number")
    if "scale" in metric and (not _is_number(metric["scale"]) or metric["scale"] == 0):
        problems.append(f"{path}.scale: must be a non-zero number")
    if not (isinstance(unit, str) and unit.strip() and len(unit) <= 32):
        problems.append(f"{path}.unit: required, 1-32 characters")
    if "currency" in metric:
        problems += _expression_problems(metric["currency"], f"{path}.currency")
    if metric.get("period") not in PERIODS:
        problems.append(f"{path}.period: must be one of {', '.join(PERIODS)}")
    return problems


def _expression_problems(expression, path):
    if not isinstance(expression, str) or not expression.strip():
        return [f"{path}: must be a JMESPath expression (a non-empty string)"]
    if len(expression) > MAX_EXPRESSION:
        return [f"{path}: longer than {MAX_EXPRESSION} characters"]
    try:
        _compiled(expression)
    except (ValueError, RecursionError) as exc:  # every JMESPathError is a ValueError
        return [f"{path}: invalid JMESPath: {_one_line(exc)}"]
    return []


def check(mapping):
    """The mapping itself when valid, else MappingError listing every problem."""
    if problems := validate(mapping):
        raise MappingError("; ".join(problems))
    return mapping


def rule_for(mapping, event_type):
    """The rule for an event type, else the default rule ("*") for a typed event; None when neither."""
    events = mapping.get("events") if isinstance(mapping, dict) else None
    if not (isinstance(events, dict) and isinstance(event_type, str)):
        return None
    rule = events.get(event_type)
    return events.get(DEFAULT_RULE) if rule is None and event_type.strip() else rule


def is_ignored(mapping, event_type):
    """True when the mapping lists the event type as deliberately ignored."""
    ignored = mapping.get("event_types_ignored") if isinstance(mapping, dict) else None
    return isinstance(ignored, list) and isinstance(event_type, str) and event_type in ignored


def apply(rule, payload):
    """Map one payload with one rule; MappingError when the rule or the payload does not fit."""
    if problems := _rule_problems(rule, "rule"):
        raise MappingError("; ".join(problems))
    provider_status = _short(_search(rule, "status", payload), "status")
    status = None
    if provider_status is not None:  # exact match, then case-insensitive, else itself lower-cased
        lowered, status_map = provider_status.lower(), rule.get("status_map", {})
        status = (status_map.get(provider_status) or status_map.get(lowered) or lowered)[:MAX_SHORT]
    return MappedRecord(
        object_type=rule["object_type"],
        external_id=_external_id(_search(rule, "external_id", payload)),
        occurred_at=_moment(_search(rule, "occurred_at", payload)),
        version=_short(_search(rule, "version", payload), "version"),
        provider_status=provider_status, status=status,
        fields=_fields(rule, payload),
        metrics=tuple(_metrics(rule.get("metrics", []), payload)),
    )


def _fields(rule, payload):
    """The rule's named fields, then those of its "fields_from" object it does not name (a CSV file's
    columns the mapping does not use, say); keys that are not valid field names are left out."""
    fields = {name: _field(_search(rule["fields"], name, payload, "fields."), f"fields.{name}")
              for name in rule.get("fields", {})}
    extra = _search(rule, "fields_from", payload)
    if extra is None:
        return fields
    if not isinstance(extra, dict):
        raise MappingError(f"fields_from: must find an object, got {type(extra).__name__}")
    added = 0
    for name, value in extra.items():
        if name not in fields and FIELD_NAME.fullmatch(name) and added < MAX_FIELDS_FROM:
            fields[name] = _field(value, f"fields_from.{name}")
            added += 1
    return fields


def _search(holder, key, payload, prefix=""):
    if (expression := holder.get(key)) is None:
        return None
    try:
        return _compiled(expression).search(payload)
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. length(null)
        raise MappingError(f"{prefix}{key}: {_one_line(exc)}") from None


def _external_id(value):
    if value is None:
        raise MappingError("external_id: missing from the payload")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MappingError(f"external_id: must be a string or an integer, got {type(value).__name__}")
    if not str(value).strip() or len(str(value)) > MAX_ID:
        raise MappingError(f"external_id: must be 1-{MAX_ID} characters and not blank")
    return storable_text(str(value))


def _moment(value):
    """Unix seconds (milliseconds above 1e11) or ISO-8601 date/datetime -> aware UTC; blank -> None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, str):
            moment = _utc(datetime.fromisoformat(value.strip()))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        else:
            raise ValueError
    except (ValueError, OverflowError, OSError):
        raise MappingError(f"occurred_at: {value!r:.40} is not a unix time or an ISO-8601 date") from None
    if moment.year < 1970:
        raise MappingError(f"occurred_at: {value!r:.40} is before 1970")
    return moment


def _short(value, path):
    """A scalar as text of at most 64 characters; None when absent or blank."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif value is not None and not isinstance(value, (str, int, float)):
        raise MappingError(f"{path}: must be a string or a number, got {type(value).__name__}")
    if value is not None and len(str(value)) > MAX_SHORT:
        raise MappingError(f"{path}: longer than {MAX_SHORT} characters")
    return storable_text(str(value)) if value is not None and str(value).strip() else None


def _field(value, path):
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT - 1] + "…"
    try:
        size = len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise MappingError(f"{path}: not JSON-serialisable ({_one_line(exc)})") from None
    if size > MAX_FIELD_JSON:
        raise MappingError(f"{path}: {size} characters of JSON (max {MAX_FIELD_JSON}); map a smaller part")
    return value


def _metrics(metrics, payload):
    """Each metric's value as Decimal * scale, rounded half up to 4 places; "172.05" counts."""
    for metric in metrics:
        name, value = metric["name"], metric["value"]
        if isinstance(value, str):
            value = _search(metric, "value", payload, f"metrics.{name}.")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # nothing to state in this payload: skip the metric, keep the event
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise MappingError(f"metrics.{name}: must be a number, got {type(value).__name__}")
        try:  # Decimal(str(x)) keeps what the payload says: 172.05 stays 172.05, not a float's tail
            amount = Decimal(str(value).strip()) * Decimal(str(metric.get("scale", 1)))
        except (DecimalException, ValueError):
            raise MappingError(f"metrics.{name}: {value!r:.40} is not a number") from None
        if not amount.is_finite() or abs(amount) >= METRIC_LIMIT:
            raise MappingError(f"metrics.{name}: {value!r:.40} is not a finite number below 1e16")
        amount = amount.quantize(FOUR_PLACES, ROUND_HALF_UP) + 0  # "+ 0" turns -0.0000 into 0.0000
        yield MetricPoint(name, amount, _unit(metric, payload), metric["period"])


def _unit(metric, payload):
    """The payload's currency code when the metric names where to find one, else its unit."""
    code = _search(metric, "currency", payload, f"metrics.{metric['name']}.")
    return code.upper() if isinstance(code, str) and CURRENCY.fullmatch(code) else metric["unit"]


def preview(mapping, event_type, payload):
    """Dry run for the mapping editor: {"ok", "record" | "ignored" | "error"}; never raises."""
    try:
        if problems := validate(mapping):
            return {"ok": False, "error": "invalid mapping: " + "; ".join(problems)}
        if is_ignored(mapping, event_type):
            return {"ok": True, "ignored": f"event type '{event_type}' is ignored by the mapping"}
        if (rule := rule_for(mapping, event_type)) is None:
            return {"ok": True, "ignored": f"no mapping for event type '{event_type}'"}
        record = apply(rule, payload)
        shown = asdict(record)  # made JSON-safe: ISO time, metric values as exact decimal strings
        shown["occurred_at"] = record.occurred_at and record.occurred_at.isoformat()
        shown["metrics"] = [{**point, "value": str(point["value"])} for point in shown["metrics"]]
        return {"ok": True, "record": shown}
    except MappingError as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # the editor must get an answer even for a bug of ours
        return {"ok": False, "error": f"unexpected {type(exc).__name__} while mapping"}


def _utc(moment):
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _is_number(value):
    return type(value) is int or (type(value) is float and math.isfinite(value))


def _one_line(exc):
    return " ".join(str(exc).split())[:300]


def metric_names(mapping):
    """The metric names a mapping can write, sorted: what a metric definition may read."""
    events = (mapping or {}).get("events") or {}
    return sorted({metric["name"] for rule in events.values() if isinstance(rule, dict)
                   for metric in rule.get("metrics") or [] if isinstance(metric, dict) and metric.get("name")})
