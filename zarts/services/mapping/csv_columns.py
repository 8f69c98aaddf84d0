"""CSV columns: the mapping's "csv" section, matching headers to targets and typing cell values.

The section is data, saved with the connection's mapping:
``{"key": header, "columns": {target: {"column": header, "type": t, "required": b, "values": [...]}},
"ignore": [header, ...], "day_first": b, "decimal": "auto" | "." | ","}``. Targets are the names a
row rule reads as ``row.<target>``; only the key column is required unless a target says so.
Columns no target uses and not ignored are kept too, as ``extra.<field name>`` (see extra_fields).
No Flask, no database: mapping.validate() calls section_problems().
"""
import re

from . import csv_values

TYPES = ("text", "number", "date", "datetime", "email", "enum")
SECTION_KEYS = ("key", "columns", "ignore", "day_first", "decimal")
SPEC_KEYS = ("column", "type", "required", "values")
TARGET_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
ROW_REFERENCE = re.compile(r"\brow\.([a-z][a-z0-9_]{0,63})\b")
KEY_NAMES = ("row_key", "id", "key", "external_id")  # headers taken as the natural key when none is saved
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_HEADER, MAX_KEY, MAX_VALUES = 255, 255, 200


def section_problems(section):
    """Every problem in a "csv" section as "csv.path: what is wrong"; [] when it is valid."""
    if not isinstance(section, dict):
        return ["csv: must be an object"]
    problems = [f"csv: unknown key {k!r}" for k in section if k not in SECTION_KEYS]
    if not _is_header(section.get("key")):
        problems.append(f"csv.key: required, the name of the natural key column (1-{MAX_HEADER} characters)")
    columns = section.get("columns", {})
    if not isinstance(columns, dict):
        return problems + ["csv.columns: must be an object of target -> column spec"]
    for target, spec in columns.items():
        problems += _spec_problems(target, spec)
    ignore = section.get("ignore", [])
    if not isinstance(ignore, list) or not all(_is_header(h) for h in ignore):
        problems.append("csv.ignore: must be a list of column names")
    if not isinstance(section.get("day_first", False), bool):
        problems.append("csv.day_first: must be true (05/11/2026 is 5 November) or false (it is May 11)")
    if section.get("decimal", "auto") not in csv_values.DECIMALS:
        problems.append("csv.decimal: must be \"auto\", \".\" or \",\" (the decimal separator in numbers)")
    return problems


def _spec_problems(target, spec):
    path = f"csv.columns.{target}"
    if not (isinstance(target, str) and TARGET_NAME.fullmatch(target)):
        return [f"{path}: invalid target name (want ^[a-z][a-z0-9_]{{0,63}}$)"]
    if not isinstance(spec, dict):
        return [f"{path}: must be an object"]
    problems = [f"{path}: unknown key {k!r}" for k in spec if k not in SPEC_KEYS]
    if spec.get("column") is not None and not _is_header(spec["column"]):
        problems.append(f"{path}.column: must be a column name (1-{MAX_HEADER} characters) or null")
    kind = spec.get("type", "text")
    if kind not in TYPES:
        problems.append(f"{path}.type: must be one of {', '.join(TYPES)}")
    if not isinstance(spec.get("required", False), bool):
        problems.append(f"{path}.required: must be true or false")
    values = spec.get("values")
    if kind == "enum":
        if not (isinstance(values, list) and 0 < len(values) <= MAX_VALUES
                and all(isinstance(v, str) and 0 < len(v.strip()) <= 64 for v in values)):
            problems.append(f"{path}.values: an enum needs a list of 1-{MAX_VALUES} values (1-64 characters)")
    elif values is not None:
        problems.append(f"{path}.values: only an enum has values")
    return problems


def _is_header(name):
    return isinstance(name, str) and 0 < len(name.strip()) <= MAX_HEADER


def squash(name):
    """A header or target name compared case-, space-, hyphen- and underscore-insensitively."""
    return re.sub(r"[\s_\-]+", "", str(name)).casefold()


def targets(active_mapping):
    """{target: spec} the rows can fill: the csv section's columns, then any other row.<name> a rule reads."""
    section = active_mapping.get("csv") if isinstance(active_mapping, dict) else None
    found = {}
    if isinstance(section, dict) and isinstance(section.get("columns"), dict):
        found.update({t: dict(s) for t, s in section["columns"].items() if isinstance(s, dict)})
    rule = (active_mapping.get("events") or {}).get("row") if isinstance(active_mapping, dict) else None
    for name in ROW_REFERENCE.findall(_expressions(rule)):
        found.setdefault(name, {"column": None, "type": "text", "required": False})
    return found


def _expressions(rule):
    """Every JMESPath text in a rule, joined, so row.<name> references can be found."""
    if not isinstance(rule, dict):
        return ""
    texts = [rule.get(k) for k in ("occurred_at", "version", "status")]
    texts += list((rule.get("fields") or {}).values()) if isinstance(rule.get("fields"), dict) else []
    texts += [m.get("value") for m in rule.get("metrics") or [] if isinstance(m, dict)]
    return " ".join(t for t in texts if isinstance(t, str))


def automatch(headers, active_mapping):
    """The section to use for a file with these headers: saved choices first, else names that agree."""
    section = active_mapping.get("csv") if isinstance(active_mapping, dict) else None
    section = section if isinstance(section, dict) else {}
    by_name = {}
    for header in headers:
        by_name.setdefault(squash(header), header)
    key = _find(by_name, [section.get("key"), *KEY_NAMES])
    columns = {}
    for target, spec in targets(active_mapping).items():
        spec = {**spec, "column": _find(by_name, [spec.get("column"), target])}
        columns[target] = {k: v for k, v in spec.items() if k in SPEC_KEYS}
    ignore = [h for h in section.get("ignore", []) if isinstance(h, str) and h in headers]
    return {"key": key, "columns": columns, "ignore": ignore, **settings(section)}


def settings(section):
    """How the section reads dates and numbers (defaults filled in)."""
    return {"day_first": section.get("day_first", False) is True,
            "decimal": section.get("decimal") if section.get("decimal") in csv_values.DECIMALS else "auto"}


def _find(by_name, names):
    for name in names:
        if isinstance(name, str) and squash(name) in by_name:
            return by_name[squash(name)]
    return None


def file_problems(headers, section):
    """What stops a file with these headers from being read with this section ([] when nothing)."""
    problems = []
    if section.get("key") not in headers:
        problems.append("choose the column that holds each row's key (its natural key)")
    for target, spec in section["columns"].items():
        column = spec.get("column")
        if column is None and spec.get("required"):
            problems.append(f"required column for '{target}' is missing from the file")
        elif column is not None and column not in headers:
            problems.append(f"column '{column}' (for '{target}') is not in the file")
    return problems


def kept_columns(headers, section):
    """[(header, field name)] of the columns no target uses and not ignored: kept as the record's fields."""
    used = {section.get("key"), *(s.get("column") for s in section["columns"].values()), *section.get("ignore", [])}
    taken = {*section["columns"]}
    kept = []
    for header in headers:
        if header in used:
            continue
        name = field_name(header, taken)
        taken.add(name)
        kept.append((header, name))
    return kept


def field_name(header, taken=()):
    """A header as a record field name: 'Lead Source' -> 'lead_source', '2nd phone' -> 'f_2nd_phone';
    a name already taken gets a number ('source_2')."""
    name = re.sub(r"[^a-z0-9]+", "_", header.casefold()).strip("_")[:60] or "column"
    name = name if name[0].isalpha() else "f_" + name
    base, n = name, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def coerce(spec, text, section=None):
    """A cell's text as the spec's type (canonical text); ValueError with a message when it does not fit.

    section: the csv section, for how dates (day first or not) and numbers (decimal separator) are written.
    """
    kind, how = spec.get("type", "text"), settings(section or {})
    if kind == "number":
        return csv_values.parse_number(text, how["decimal"])
    if kind == "date":
        return csv_values.parse_date(text, how["day_first"])
    if kind == "datetime":
        return csv_values.parse_datetime(text, how["day_first"])
    if kind == "email":
        if len(text) > 254 or not EMAIL.fullmatch(text):
            raise ValueError("not an email address")
        return text
    if kind == "enum":
        allowed = {v.strip().casefold(): v.strip() for v in spec.get("values", [])}
        if text.casefold() not in allowed:
            shown = ", ".join(list(allowed.values())[:12])
            raise ValueError(f"not one of the allowed values ({shown})")
        return allowed[text.casefold()]
    return text
