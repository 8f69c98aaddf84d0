"""`flask zarts create-client`, `create-user`, `create-connection` and `demo`: setting things up."""
import sys

import click

from ..models import Connection
from ..services import DomainError
from ..services.setup import accounts, connections, demo
from .base import domain_command, emit, get_or_fail, zarts


@zarts.command("create-client")
@click.option("--name", required=True, help="Display name of the client.")
@click.option("--slug", help="URL-safe id; derived from the name when left out.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def create_client(name, slug, as_json):
    """Create a client (tenant)."""
    client = accounts.create_client(name, slug)
    emit({"id": client.id, "slug": client.slug, "name": client.name}, as_json, f"client {client.slug} created")


@zarts.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "client"]))
@click.option("--client", "client_slug", help="The client a client user belongs to.")
@click.option("--name", default="", help="Display name.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def create_user(email, password, role, client_slug, name, as_json):
    """Create an admin or a client user."""
    user = accounts.create_user(email, password, role, client_slug, name)
    data = {"id": user.id, "email": user.email, "role": user.role, "client": user.client.slug if user.client else None}
    emit(data, as_json, f"{user.role} {user.email} created")


@zarts.command("create-connection")
@click.option("--provider", "provider_key", required=True, help="Provider key, e.g. stripe.")
@click.option("--client", "client_slug", required=True)
@click.option("--owner", "owner_email", required=True, help="Email of the admin who owns it.")
@click.option("--reason", required=True, help="Why this connection exists.")
@click.option("--name", help="Display name.")
@click.option("--secret-stdin", is_flag=True,
              help="Use the provider's own signing secret, read from standard input (Stripe, Shopify, Svix...).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def create_connection(provider_key, client_slug, owner_email, reason, name, secret_stdin, as_json):
    """Connect a provider for a client; prints the ingest path, and the secret when zarts generated it (once)."""
    pasted = read_secret() if secret_stdin else None
    connection, secret = connections.create_connection(provider_key, client_slug, owner_email, reason, name,
                                                       secret=pasted)
    data = connections.connection_dict(connection, secret)
    shown = f"\nsecret (shown once): {secret}" if secret else "\nsecret: the provider's, as given (not shown)"
    emit(data, as_json, f"connection {connection.id}: POST {data['ingest_path']}{shown}")


@zarts.command("rotate-secret")
@click.option("--connection", "connection_id", type=int, required=True, help="The connection's id.")
@click.option("--secret-stdin", is_flag=True, help="The provider's new secret, read from standard input.")
@click.option("--overlap-hours", type=int, default=None,
              help="How long the old secret keeps working (default: SECRET_ROTATION_OVERLAP_HOURS, 24).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def rotate_secret(connection_id, secret_stdin, overlap_hours, as_json):
    """Put a new signing secret in force: the provider's (from standard input) or a generated one (shown once)."""
    connection = get_or_fail(Connection, connection_id, "connection")
    pasted = read_secret() if secret_stdin else None
    secret = connections.rotate_secret(connection, None, overlap_hours, secret=pasted)
    until = connections.previous_secret_valid_until(connection)
    data = {**connections.connection_dict(connection, secret), "secret_source": connection.secret_source,
            "previous_secret_valid_until": until.isoformat() if until else None}
    shown = f"new secret (shown once): {secret}" if secret else "the provider's new secret is in force"
    emit(data, as_json, f"connection {connection.id}: {shown}" + (f"; the old one works until {until:%Y-%m-%d %H:%M} UTC"
                                                                    if until else ""))


def read_secret():
    """One line of standard input: a secret never goes on the command line (shell history, ps)."""
    secret = sys.stdin.readline().strip()
    if not secret:
        raise DomainError("no secret on standard input")
    return secret


@zarts.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def load_demo(as_json):
    """Load demo clients, users, connections and events (first run only); print the logins."""
    created = demo.load()
    logins = demo.LOGINS
    if as_json:
        emit({"created": created, "logins": logins}, True, "")
        return
    click.echo("Demo data loaded." if created else "Demo data already present.")
    for login in logins:
        click.echo(f"  {login['role']:<6} {login['email']:<32} password: {login['password']}")
