"""`flask zarts notify-test`, `notifications` and `add-destination`: alerts from scripts."""
import sys

import click

from ..models import DESTINATION_KINDS, NOTIFICATION_STATUSES
from ..services import DomainError
from ..services.notify import destinations
from ..services.setup import accounts
from .base import domain_command, emit, zarts


@zarts.command("notify-test")
@click.option("--to", "to", required=True, help="The email address to send a test message to.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def notify_test(to, as_json):
    """Send a test email now (logged); exits 1 when it was not sent."""
    notification = destinations.send_test_email(to)
    data = destinations.notification_dict(notification)
    emit(data, as_json, f"notification {notification.id}: {notification.status.replace('_', ' ')}"
                        + (f" ({notification.status_reason})" if notification.status_reason else ""))
    if notification.status != "sent":
        sys.exit(1)


@zarts.command("notifications")
@click.option("--status", type=click.Choice(NOTIFICATION_STATUSES), help="Only notifications in this status.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def notifications(status, limit, as_json):
    """The notification log, newest first."""
    rows = [destinations.notification_dict(n) for n in destinations.recent(status, limit=limit)]
    human = "\n".join(f"{r['id']}  {r['created_at'][:16]}  {r['status']:<8}  {r['to']}  {r['subject']}" for r in rows)
    emit({"notifications": rows}, as_json, human or "no notifications")


@zarts.command("add-destination")
@click.option("--kind", type=click.Choice(DESTINATION_KINDS), required=True)
@click.option("--target", required=True, help="An email address, or the webhook's URL.")
@click.option("--user", "user_email", help="An admin's own destination (their email).")
@click.option("--connection", "connection_id", type=int, help="A connection's destination.")
@click.option("--on-call", is_flag=True, help="An on-call destination: for connections whose owner has none.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def add_destination(kind, target, user_email, connection_id, on_call, as_json):
    """Add where alerts go; a webhook's signing secret is printed once."""
    if sum(map(bool, (user_email, connection_id, on_call))) != 1:
        raise DomainError("give one of --user, --connection or --on-call")
    user = accounts.get_user(user_email) if user_email else None
    connection = destinations.connection_or_fail(connection_id) if connection_id else None
    destination, secret = destinations.add(None, kind, target, user=user, connection=connection)
    data = {"id": destination.id, "kind": kind, "target": destination.target_shown, "for": destinations.scope(destination)}
    if secret:
        data["secret"] = secret
    emit(data, as_json, f"destination {destination.id}: {kind} {destination.target_shown} for {data['for']}"
                        + (f"\nsigning secret (shown once): {secret}" if secret else ""))
