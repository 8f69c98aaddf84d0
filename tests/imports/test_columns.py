"""The mapping's "csv" section: validation, header matching, types, saved for the next upload."""
import copy

import pytest

from tests.imports.conftest import check, upload
from zarts.extensions import db
from zarts.models import ConnectionMapping
from zarts.providers import definition
from zarts.services.imports import csv_import
from zarts.services.mapping import csv_columns
from zarts.services.mapping.rules import validate
from zarts.services.mapping.versions import effective_mapping


def shipped():
    return copy.deepcopy(definition("manual_csv_import")["mapping"])


def with_csv(section):
    return {**shipped(), "csv": section}


def test_the_shipped_mapping_declares_key_types_and_required_columns():
    section = shipped()["csv"]
    assert validate(shipped()) == []
    assert section["key"] == "row_key"
    assert section["columns"]["email"] == {"column": "email", "type": "email", "required": False}
    assert "qualified" in section["columns"]["stage"]["values"]
    # Only the natural key is required by default: any export with a key column can be read.
    assert not any(spec.get("required") for spec in section["columns"].values())


@pytest.mark.parametrize("section, problem", [
    ("x", "csv: must be an object"),
    ({"columns": {}}, "csv.key: required"),
    ({"key": "id", "extra": 1}, "csv: unknown key 'extra'"),
    ({"key": "id", "columns": []}, "csv.columns: must be an object"),
    ({"key": "id", "columns": {"Bad Name": {}}}, "csv.columns.Bad Name: invalid target name"),
    ({"key": "id", "columns": {"a": "x"}}, "csv.columns.a: must be an object"),
    ({"key": "id", "columns": {"a": {"type": "money"}}}, "csv.columns.a.type: must be one of"),
    ({"key": "id", "columns": {"a": {"required": "yes"}}}, "csv.columns.a.required: must be true or false"),
    ({"key": "id", "columns": {"a": {"type": "enum"}}}, "csv.columns.a.values: an enum needs a list"),
    ({"key": "id", "columns": {"a": {"type": "enum", "values": []}}}, "csv.columns.a.values: an enum needs"),
    ({"key": "id", "columns": {"a": {"type": "text", "values": ["x"]}}}, "csv.columns.a.values: only an enum"),
    ({"key": "id", "columns": {"a": {"column": ""}}}, "csv.columns.a.column: must be a column name"),
    ({"key": "id", "columns": {"a": {"colum": "x"}}}, "csv.columns.a: unknown key 'colum'"),
    ({"key": "id", "ignore": "x"}, "csv.ignore: must be a list of column names"),
])
def test_validate_reports_csv_section_problems(section, problem):
    problems = validate(with_csv(section))
    assert any(p.startswith(problem) for p in problems), problems


def test_other_mappings_still_refuse_unknown_top_level_keys():
    assert validate({"events": {}, "cvs": {}}) == ["mapping: unknown key 'cvs'"]


def test_headers_match_targets_ignoring_case_spaces_and_underscores():
    mapping = shipped()
    del mapping["csv"]
    section = csv_columns.automatch(["Row Key", "E-Mail", "NAME", "Stage ", "value", "Created"], mapping)
    assert section["key"] == "Row Key"
    assert {t: s["column"] for t, s in section["columns"].items()} == {
        "email": "E-Mail", "name": "NAME", "stage": "Stage ", "value": "value", "created": "Created"}
    assert all(s["type"] == "text" for s in section["columns"].values())  # no csv section: no types declared


def test_targets_come_from_the_row_rule_when_there_is_no_csv_section():
    mapping = shipped()
    del mapping["csv"]
    assert list(csv_columns.targets(mapping)) == ["created", "stage", "email", "name", "value"]


@pytest.mark.parametrize("spec, text, value", [
    ({"type": "number"}, "1200.50", "1200.50"),
    ({"type": "number"}, "-3", "-3"),
    ({"type": "date"}, "2026-11-01", "2026-11-01"),
    ({"type": "datetime"}, "2026-11-01T09:30:00+01:00", "2026-11-01T09:30:00+01:00"),
    ({"type": "datetime"}, "2026-11-01 09:30", "2026-11-01T09:30:00"),
    ({"type": "email"}, "dana@example.com", "dana@example.com"),
    ({"type": "enum", "values": ["Won", "Lost"]}, "won", "Won"),
    ({"type": "text"}, "=cmd", "=cmd"),
    ({"type": "number"}, "$1,200.50", "1200.50"),
    ({"type": "number"}, "1.234,56 €", "1234.56"),
    ({"type": "date"}, "11/01/2026", "2026-11-01"),  # month first unless the section says day first
])
def test_coerce_accepts_and_canonicalises(spec, text, value):
    assert csv_columns.coerce(spec, text) == value


@pytest.mark.parametrize("section, spec, text, value", [
    ({"day_first": True}, {"type": "date"}, "01/11/2026", "2026-11-01"),
    ({"day_first": True}, {"type": "datetime"}, "01/11/2026 09:30", "2026-11-01T09:30:00"),
    ({"decimal": ","}, {"type": "number"}, "1.200", "1200"),
    ({"decimal": "."}, {"type": "number"}, "1.200", "1.200"),
])
def test_the_section_says_how_dates_and_numbers_are_written(section, spec, text, value):
    assert csv_columns.coerce(spec, text, section) == value


@pytest.mark.parametrize("section, problem", [
    ({"key": "id", "day_first": "yes"}, "csv.day_first: must be true"),
    ({"key": "id", "decimal": ";"}, "csv.decimal: must be"),
])
def test_bad_date_and_number_settings_are_named(section, problem):
    assert any(p.startswith(problem) for p in csv_columns.section_problems(section))


def test_columns_no_target_uses_are_kept_under_field_names():
    section = {"key": "id", "columns": {"email": {"column": "Mail"}, "source": {"column": None}}, "ignore": ["Notes"]}
    headers = ["id", "Mail", "Lead Source", "created_at", "Notes", "2nd phone", "source"]
    assert csv_columns.kept_columns(headers, section) == [
        ("Lead Source", "lead_source"), ("created_at", "created_at"), ("2nd phone", "f_2nd_phone"),
        ("source", "source_2")]  # 'source' is a target's name: the column's field must not overwrite it


@pytest.mark.parametrize("spec, text", [
    ({"type": "number"}, "12abc"), ({"type": "number"}, "NaN"), ({"type": "number"}, "1,20,0"),
    ({"type": "date"}, "13/11/2026"), ({"type": "date"}, "2026-13-01"), ({"type": "datetime"}, "yesterday"),
    ({"type": "email"}, "dana@"), ({"type": "email"}, "a b@example.com"),
    ({"type": "enum", "values": ["won"]}, "maybe"),
])
def test_coerce_refuses_values_of_the_wrong_type(spec, text):
    with pytest.raises(ValueError):
        csv_columns.coerce(spec, text)


def test_the_adjusted_mapping_is_saved_and_used_for_the_next_upload(app, connection):
    data = b"Lead ID,Mail,name,stage,value,created\nL-1,a@example.com,A,new,1,2026-11-01\n"
    imp = upload(connection, data)
    proposed = csv_import.proposed_section(imp)
    assert proposed["key"] is None and proposed["columns"]["email"]["column"] is None
    section = copy.deepcopy(proposed)
    section["key"] = "Lead ID"
    section["columns"]["email"]["column"] = "Mail"
    imp = check(imp, section)
    assert imp.status == "dry_run" and imp.counts["created"] == 1
    saved = db.session.scalars(db.select(ConnectionMapping).filter_by(connection_id=connection.id)).all()
    assert len(saved) == 1 and saved[0].mapping["csv"]["key"] == "Lead ID"
    assert effective_mapping(connection)["events"] == shipped()["events"]  # only the csv section changed
    again = upload(connection, data.replace(b"L-1", b"L-2"))
    assert csv_import.proposed_section(again)["key"] == "Lead ID"
    assert csv_import.proposed_section(again)["columns"]["email"]["column"] == "Mail"
    check(again, csv_import.proposed_section(again))
    assert db.session.scalar(db.select(db.func.count(ConnectionMapping.id))) == 1  # unchanged: no new version


@pytest.mark.parametrize("event_type", ["row", "csv_import.completed"])
def test_the_shipped_samples_map(event_type):
    from zarts.services.mapping.rules import preview

    result = preview(shipped(), event_type, definition("manual_csv_import")["samples"][event_type])
    assert result["ok"] and "record" in result, result
