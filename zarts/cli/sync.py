"""`flask zarts sync` and `sync-config`: pull-sync connectors from the command line."""
import sys

import click

from ..extensions import db
from ..models import Connection
from ..services import DomainError
from ..services.sync import preview, pull, runs, settings
from .base import domain_command, emit, get_or_fail, set_option, zarts


@zarts.command("sync")
@click.option("--connection", "connection_id", type=int, required=True, help="The sync connection's id.")
@click.option("--test", "test_mode", is_flag=True, help="Read one bounded page and count it; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def sync_command(connection_id, test_mode, as_json):
    """Run one sync of a connection now (or a test page) and print the counts; exit 1 if it failed."""
    connection = _sync_connection(connection_id)
    if test_mode:
        result = preview.test_sync(connection)
    else:
        if connection.lifecycle in ("paused", "disconnected"):
            raise DomainError(f"connection {connection.id} is {connection.lifecycle}; it does not sync")
        result = runs.run_dict(pull.run_now(connection))
    counts = ", ".join(f"{result[k]} {k}" for k in ("created", "updated", "unchanged", "failed", "duplicate", "ignored"))
    human = f"sync run {result['run_id']} {result['status']}: {counts}" + (
        f"\nerror: {result['error']}" if result.get("error") else "")
    emit(result, as_json, human)
    if result["status"] != "succeeded":
        db.session.commit()
        sys.exit(1)


@zarts.command("sync-config")
@click.option("--connection", "connection_id", type=int, required=True, help="The sync connection's id.")
@click.option("--set", "changes", default="{}", help='Settings to change, as JSON, e.g. {"endpoint": "https://..."}.')
@click.option("--credential-stdin", is_flag=True, help="Read a new credential (API key) from standard input.")
@click.option("--reset-cursor", is_flag=True, help="Start the next sync from the beginning of the source.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def sync_config_command(connection_id, changes, credential_stdin, reset_cursor, as_json):
    """Configure a sync connector (never prints the credential)."""
    connection = _sync_connection(connection_id)
    values = set_option(changes)
    credential = sys.stdin.readline().strip() if credential_stdin else None
    if credential_stdin and not credential:
        raise DomainError("no credential on standard input")
    saved = settings.configure(connection, values, None, credential=credential)
    if reset_cursor:
        settings.reset_cursor(connection, None)
    data = {"id": connection.id, "sync_config": saved, "credential_changed": credential is not None,
            "sync_cursor": connection.sync_cursor, "schedule_seconds": settings.schedule_seconds(connection)}
    emit(data, as_json, f"connection {connection.id}: sync settings saved")


def _sync_connection(connection_id):
    connection = get_or_fail(Connection, connection_id, "connection")
    if connection.provider.kind != "sync":
        raise DomainError(f"connection {connection.id} is a {connection.provider.name} connection, not a sync connector")
    return connection
