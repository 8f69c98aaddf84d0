"""`flask zarts health` and `health-thresholds`: connection health from the command line."""
import click

from ..models import Connection
from ..services.health import checks, rules
from ..services.setup import connections
from .base import domain_command, emit, get_or_fail, set_option, zarts


@zarts.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def health_command(as_json):
    """Recompute every connection's health and print it with its reason."""
    rows = checks.report(checks.check())
    if as_json:
        emit({"connections": rows, "count": len(rows)}, True, "")
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
    connection = get_or_fail(Connection, connection_id, "connection")
    values = set_option(changes)
    if reset or values:
        overrides = {} if reset else {**(connection.health_thresholds or {}), **values}
        connections.update_connection(connection, {"health_thresholds": overrides}, None)
    effective = rules.thresholds(connection.health_thresholds)
    data = {"id": connection.id, "overrides": connection.health_thresholds or {}, "thresholds": effective}
    human = "\n".join(f"{key:<28} {value}{'' if key in data['overrides'] else '  (default)'}"
                      for key, value in effective.items())
    emit(data, as_json, human)
