"""`flask zarts import-csv`: one JSON object with the counts; errors are one line and a non-zero exit."""
import json

import pytest

from tests.imports.conftest import HEADER, leads, leads_file
from zarts.extensions import db
from zarts.models import CsvImport, NormalizedEvent


@pytest.fixture
def write(tmp_path):
    def do_write(data, name="leads.csv"):
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return do_write


def run(runner, *args):
    return runner.invoke(args=["zarts", "import-csv", *map(str, args)])


def test_dry_run_prints_the_counts_and_first_errors(runner, connection, write):
    path = write((HEADER + leads(3) + leads(1, start=2) + "L-9,nope,X,new,1,2026-11-01\n").encode())
    result = run(runner, "--connection", connection.id, path, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "dry_run" and data["total_rows"] == 5 and data["filename"] == "leads.csv"
    assert data["counts"] == {"new": 3, "update": 0, "unchanged": 0, "duplicate": 1, "invalid": 1, "ignored": 0}
    assert data["errors"][1] == {"line": 6, "column": "email", "value": "nope", "message": "not an email address"}
    assert (data["encoding"], data["delimiter"], data["already_imported"]) == ("utf-8", ",", None)
    assert db.session.scalar(db.select(db.func.count(NormalizedEvent.id))) == 0


def test_import_prints_the_final_counts(runner, connection, write):
    result = run(runner, "--connection", connection.id, write(leads_file(4)), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "done" and data["completed_event_id"]
    assert data["counts"] == {"created": 4, "updated": 0, "unchanged": 0, "failed": 0, "duplicate": 0, "ignored": 0}
    human = run(runner, "--connection", connection.id, write(leads_file(5), "more.csv"))
    assert human.exit_code == 0 and human.output.startswith("import ") and "1 created, 0 updated, 4 unchanged" in human.output


def test_the_same_file_again_needs_force(runner, connection, write):
    path = write(leads_file(2))
    first = json.loads(run(runner, "--connection", connection.id, path, "--json").output)
    again = run(runner, "--connection", connection.id, path, "--json")
    assert again.exit_code == 1 and again.output.count("\n") == 1
    assert again.output.startswith("error: this file was already imported on ") and "--force" in again.output
    dry = json.loads(run(runner, "--connection", connection.id, path, "--dry-run", "--json").output)
    assert dry["already_imported"]["import_id"] == first["import_id"] and dry["counts"]["unchanged"] == 2
    forced = json.loads(run(runner, "--connection", connection.id, path, "--force", "--json").output)
    assert forced["status"] == "done" and forced["counts"]["unchanged"] == 2
    statuses = [i.status for i in db.session.scalars(db.select(CsvImport).order_by(CsvImport.id))]
    assert statuses == ["done", "failed", "dry_run", "done"]


@pytest.mark.parametrize("data, message", [
    (b"", "error: The file is empty."),
    (HEADER.encode(), "error: The file has a header row but no data rows."),
    (bytes(range(256)) * 4, "error: The file contains binary data"),
    (b"z" * 1_000_000, "error: Line 1 is longer than 131,072 characters"),
    (b"name,email\nA,a@example.com\n", "error: choose the column that holds each row's key"),
])
def test_bad_files_end_in_one_error_line(runner, connection, write, data, message):
    result = run(runner, "--connection", connection.id, write(data), "--json")
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1


def test_unknown_columns_can_be_ignored_from_the_cli(runner, connection, write):
    path = write((HEADER.strip() + ",extra\n" + leads(1).replace("\n", ",x\n")).encode())
    result = run(runner, "--connection", connection.id, path, "--ignore-unknown", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["counts"]["created"] == 1


def test_usage_and_connection_errors(runner, connection, write):
    path = write(leads_file(1))
    assert run(runner, "--connection", 999, path).output == "error: unknown connection 999\n"
    missing = run(runner, "--connection", connection.id, "/nonexistent.csv")
    assert missing.exit_code == 2 and missing.output.startswith("error: ") and missing.output.count("\n") == 1
    assert run(runner, path).exit_code == 2


LEADS = (b"id,email,name,created_at,source,value\n"
         b"7001,dana@example.com,Dana Whitfield,2026-11-03,website,\"$1,200.00\"\n"
         b"7002,lee@example.com,Lee Park,2026-11-04,referral,950\n")


def test_a_leads_file_in_its_own_layout_imports_with_map(runner, connection, write):
    """The layout from the issue: no stage, 'created_at' and 'source' unknown to the mapping."""
    path = write(LEADS, "leads.csv")
    result = run(runner, "--connection", connection.id, path, "--map", "created=created_at", "--key", "id", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "done" and data["counts"]["created"] == 2 and data["counts"]["failed"] == 0
    record = db.session.scalar(db.select(NormalizedEvent).where(NormalizedEvent.external_id == "7001"))
    assert record.occurred_at.date().isoformat() == "2026-11-03"
    assert record.fields["source"] == "website" and record.fields["value"] == "1200.00"
    assert record.fields["stage"] is None and record.status is None
    # The choice is saved: the next file in this layout needs no --map.
    again = run(runner, "--connection", connection.id, write(LEADS.replace(b"7002", b"7003"), "next.csv"), "--json")
    assert again.exit_code == 0 and json.loads(again.output)["counts"]["created"] == 1


def test_a_dry_run_with_map_saves_nothing(runner, connection, write):
    from zarts.services.mapping.versions import effective_mapping

    before = effective_mapping(connection)["csv"]
    result = run(runner, "--connection", connection.id, write(LEADS), "--map", "created=created_at", "--dry-run")
    assert result.exit_code == 0 and "2 rows checked (dry run): 2 new" in result.output
    db.session.expire_all()
    assert effective_mapping(connection)["csv"] == before


@pytest.mark.parametrize("args, message", [
    (["--map", "created"], "error: Invalid value for '--map': 'created': use TARGET=COLUMN"),
    (["--map", "colour=created_at"], "error: unknown target 'colour' (this mapping's targets: created, email,"),
    (["--map", "created=when"], "error: column 'when' (for 'created') is not in the file; its columns: 'id',"),
    (["--key", "lead"], "error: key column 'lead' is not in the file"),
])
def test_bad_map_and_key_options_end_in_one_error_line(runner, connection, write, args, message):
    result = run(runner, "--connection", connection.id, write(LEADS), *args)
    assert result.exit_code in (1, 2) and result.output.startswith(message), result.output
    assert result.output.count("\n") == 1


def test_large_files_print_progress_on_stderr_and_keep_stdout_clean(app, connection, write, monkeypatch):
    from click.testing import CliRunner

    from zarts.cli import imports as cli_imports

    monkeypatch.setattr(cli_imports, "PROGRESS_EVERY_SECONDS", 0)
    runner = CliRunner()  # keeps stderr apart from stdout
    path = write(HEADER.encode() + leads(3000).encode())
    result = runner.invoke(app.cli, ["zarts", "import-csv", "--connection", str(connection.id), path, "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["created"] == 3000
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("checking: ") and lines[-1].startswith("importing: 3,000 rows (100%)")
    small = runner.invoke(app.cli, ["zarts", "import-csv", "--connection", str(connection.id),
                                    write(leads_file(5), "small.csv"), "--json"])
    assert small.exit_code == 0 and small.stderr == ""
