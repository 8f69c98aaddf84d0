"""`flask zarts events`: events with their status."""
import click

from ..services.console import events
from .base import domain_command, emit, zarts


@zarts.command("events")
@click.option("--connection", "connection_id", type=int, help="Only this connection's events.")
@click.option("--status", type=click.Choice(events.EVENT_STATUSES), help="Only events in this status.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def list_events(connection_id, status, limit, as_json):
    """List events, newest first, with their status."""
    rows = events.list_events(connection_id=connection_id, status=status, limit=limit)
    if as_json:
        emit({"events": rows, "count": len(rows)}, True, "")
        return
    for row in rows:
        click.echo(f"{row['id']:>8}  {row['received_at']}  {row['status']:<17} {row['event_type']}")
    click.echo(f"{len(rows)} event(s)")
