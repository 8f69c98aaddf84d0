"""`flask zarts import-csv`: a manual CSV file through the same checks and pipeline as an upload."""
import os

import click

from ..services.imports import csv_import
from .base import domain_command, emit, zarts


@zarts.command("import-csv")
@click.option("--connection", "connection_id", type=int, required=True, help="A manual_csv_import connection.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True, help="Only check the file: print what an import would do.")
@click.option("--force", is_flag=True, help="Import even if this exact file was imported before.")
@click.option("--ignore-unknown", is_flag=True, help="Ignore columns the mapping does not use.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def import_csv(connection_id, path, dry_run, force, ignore_unknown, as_json):
    """Import a CSV file with the connection's saved column mapping (dry run first)."""
    with open(path, "rb") as stream:
        imp = csv_import.upload(connection_id, os.path.basename(path), stream)
    imp = csv_import.script(imp, dry_run=dry_run, force=force, ignore_unknown=ignore_unknown)
    data = csv_import.import_dict(imp, dry_run=dry_run)
    counts = ", ".join(f"{n} {k}" for k, n in data["counts"].items())
    verb = "checked (dry run)" if dry_run else "imported"
    emit(data, as_json, f"import {imp.id}: {imp.total_rows} rows {verb}: {counts}")
