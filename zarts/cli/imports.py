"""`flask zarts import-csv`: a manual CSV file through the same checks and pipeline as an upload."""
import os
import sys
import time

import click

from ..services.imports import csv_import
from .base import domain_command, emit, zarts

PROGRESS_FROM_ROWS = 2000  # smaller files finish before a progress line would help
PROGRESS_EVERY_SECONDS = 1.0


def _mapping_choice(ctx, param, values):
    """--map TARGET=COLUMN, repeated, as {target: column}."""
    choices = {}
    for value in values:
        target, equals, column = value.partition("=")
        if not equals or not target.strip() or not column.strip():
            raise click.BadParameter(f"'{value}': use TARGET=COLUMN, e.g. created=created_at")
        choices[target.strip()] = column.strip()
    return choices


class Progress:
    """Rows checked or imported so far, on standard error: a line that rewrites itself on a terminal,
    one line a second otherwise (a log). Quiet for small files."""

    def __init__(self):
        self.tty, self.last, self.shown = sys.stderr.isatty(), 0.0, False

    def __call__(self, stage, rows, bytes_read, size):
        now = time.monotonic()
        if rows < PROGRESS_FROM_ROWS or now - self.last < PROGRESS_EVERY_SECONDS:
            return
        self.last, self.shown = now, True
        percent = min(100, bytes_read * 100 // size) if size else 0
        line = f"{stage}: {rows:,} rows ({percent}%)"
        click.echo(f"\r{line:<40}" if self.tty else line, err=True, nl=not self.tty)

    def end(self):
        if self.shown and self.tty:
            click.echo(err=True)


@zarts.command("import-csv")
@click.option("--connection", "connection_id", type=int, required=True, help="A manual_csv_import connection.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--map", "columns", multiple=True, callback=_mapping_choice, metavar="TARGET=COLUMN",
              help="Read this target from this column (repeat for more); an import saves the choice for next time.")
@click.option("--key", "key", metavar="COLUMN", help="The column that holds each row's natural key.")
@click.option("--dry-run", is_flag=True, help="Only check the file: print what an import would do.")
@click.option("--force", is_flag=True, help="Import even if this exact file was imported before.")
@click.option("--ignore-unknown", is_flag=True,
              help="Leave out the columns no target reads (by default they are kept as fields).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def import_csv(connection_id, path, columns, key, dry_run, force, ignore_unknown, as_json):
    """Import a CSV file with the connection's saved column mapping (dry run first)."""
    with open(path, "rb") as stream:
        imp = csv_import.upload(connection_id, os.path.basename(path), stream)
    progress = Progress()
    try:
        imp = csv_import.script(imp, dry_run=dry_run, force=force, ignore_unknown=ignore_unknown,
                                columns=columns, key=key, progress=progress)
    finally:
        progress.end()
    data = csv_import.import_dict(imp, dry_run=dry_run)
    counts = ", ".join(f"{n} {k}" for k, n in data["counts"].items())
    verb = "checked (dry run)" if dry_run else "imported"
    emit(data, as_json, f"import {imp.id}: {imp.total_rows} rows {verb}: {counts}")
