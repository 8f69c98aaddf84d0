"""`flask zarts health`, `health-thresholds`, `sync` and `sync-config`: health and sync connectors."""
import sys

import click

from .cli import _emit, domain_command, zarts
from .extensions import db
from .models import Connection
from .services import (DomainError, connections, health, health_rules, json_object, sync, sync_config, sync_preview,
                       sync_runs)


@zarts.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def health_command(as_json):
    """Recompute every connection's health and print it with its reason."""
    rows = health.report(health.check())
    if as_json:
        _emit({"connections": rows, "count": len(rows)}, True, "")
        return
    for row in rows:
        state = row["health"] if row["checked"] else f"{row['health']} (not checked: {row['lifecycle']})"
        was = f" (was {row['changed_from']})" if row["changed_from"] else ""
        click.echo(f"{row['id']:>6}  {row['name'][:40]:<40}  {state}{was}: {row['reason']}")
    click.echo(f"{len(rows)} connection(s)")


@zarts.command("health-thresholds")
@click.option("--connection", "connection_id", type=int, required=True, help="The connection's id.")
@click.option("--set", "changes", default="{}",
              help='Overrides to change, as JSON, e.g. {"rejections_degraded": 10}; null restores a default.')
@click.option("--reset", is_flag=True, help="Drop every override: all defaults again.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def health_thresholds_command(connection_id, changes, reset, as_json):
    """Show or change when a connection counts as degraded, stale or in error (audited)."""
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        raise DomainError(f"unknown connection {connection_id}")
    values = _set_option(changes)
    if reset or values:
        overrides = {} if reset else {**(connection.health_thresholds or {}), **values}
        connections.update_connection(connection, {"health_thresholds": overrides}, None)
    effective = health_rules.thresholds(connection.health_thresholds)
    data = {"id": connection.id, "overrides": connection.health_thresholds or {}, "thresholds": effective}
    human = "\n".join(f"{key:<28} {value}{'' if key in data['overrides'] else '  (default)'}"
                      for key, value in effective.items())
    _emit(data, as_json, human)


@zarts.command("sync")
@click.option("--connection", "connection_id", type=int, required=True, help="The sync connection's id.")
@click.option("--test", "test_mode", is_flag=True, help="Read one bounded page and count it; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def sync_command(connection_id, test_mode, as_json):
    """Run one sync of a connection now (or a test page) and print the counts; exit 1 if it failed."""
    connection = _sync_connection(connection_id)
    if test_mode:
        result = sync_preview.test_sync(connection)
    else:
        if connection.lifecycle in ("paused", "disconnected"):
            raise DomainError(f"connection {connection.id} is {connection.lifecycle}; it does not sync")
        result = sync_runs.run_dict(sync.run_now(connection))
    counts = ", ".join(f"{result[k]} {k}" for k in ("created", "updated", "unchanged", "failed", "duplicate", "ignored"))
    human = f"sync run {result['run_id']} {result['status']}: {counts}" + (
        f"\nerror: {result['error']}" if result.get("error") else "")
    _emit(result, as_json, human)
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
    values = _set_option(changes)
    credential = sys.stdin.readline().strip() if credential_stdin else None
    if credential_stdin and not credential:
        raise DomainError("no credential on standard input")
    saved = sync_config.configure(connection, values, None, credential=credential)
    if reset_cursor:
        sync_config.reset_cursor(connection, None)
    data = {"id": connection.id, "sync_config": saved, "credential_changed": credential is not None,
            "sync_cursor": connection.sync_cursor, "schedule_seconds": sync_config.schedule_seconds(connection)}
    _emit(data, as_json, f"connection {connection.id}: sync settings saved")


def _set_option(text):
    """The --set option's JSON object; DomainError when it is not one."""
    try:
        return json_object(text)
    except DomainError as exc:
        raise DomainError(f"--set: {exc}") from None


def _sync_connection(connection_id):
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        raise DomainError(f"unknown connection {connection_id}")
    if connection.provider.kind != "sync":
        raise DomainError(f"connection {connection.id} is a {connection.provider.name} connection, not a sync connector")
    return connection
