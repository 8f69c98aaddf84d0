"""The scripting contract: `flask --app wsgi zarts ...` commands that call the services."""
import json
import sys
from functools import wraps

import click
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .services import DomainError, accounts, connections, demo, events


class _OneLineErrors(click.Group):
    """Usage mistakes (a missing or invalid option) end in one `error:` line, like domain errors."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            click.echo("error: " + " ".join(exc.format_message().split()), err=True)
            ctx.exit(2)


zarts = _OneLineErrors("zarts", help="Set up and inspect zarts from scripts.")


def init_app(app):
    """Register the `zarts` command group."""
    app.cli.add_command(zarts)


def _emit(data, as_json, human):
    """Print one JSON object with --json, else a human line."""
    click.echo(json.dumps(data, default=str) if as_json else human)


def domain_command(fn):
    """Run fn in a transaction; bad input prints one line and exits 1, never a traceback."""

    @wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except DomainError as exc:
            db.session.rollback()
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except SQLAlchemyError as exc:
            db.session.rollback()
            current_app.logger.debug("database error in CLI", exc_info=True)
            hint = " (has `flask --app wsgi db upgrade` been run?)"
            click.echo(f"error: database: {type(exc).__name__}{hint}", err=True)
            sys.exit(1)

    return wrapped


@zarts.command("create-client")
@click.option("--name", required=True, help="Display name of the client.")
@click.option("--slug", help="URL-safe id; derived from the name when left out.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def create_client(name, slug, as_json):
    """Create a client (tenant)."""
    client = accounts.create_client(name, slug)
    _emit({"id": client.id, "slug": client.slug, "name": client.name}, as_json, f"client {client.slug} created")


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
    _emit(data, as_json, f"{user.role} {user.email} created")


@zarts.command("create-connection")
@click.option("--provider", "provider_key", required=True, help="Provider key, e.g. stripe.")
@click.option("--client", "client_slug", required=True)
@click.option("--owner", "owner_email", required=True, help="Email of the admin who owns it.")
@click.option("--reason", required=True, help="Why this connection exists.")
@click.option("--name", help="Display name.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def create_connection(provider_key, client_slug, owner_email, reason, name, as_json):
    """Connect a provider for a client; prints the ingest path and the secret (shown once)."""
    connection, secret = connections.create_connection(provider_key, client_slug, owner_email, reason, name)
    data = connections.connection_dict(connection, secret)
    _emit(data, as_json, f"connection {connection.id}: POST {data['ingest_path']}\nsecret (shown once): {secret}")


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
        _emit({"events": rows, "count": len(rows)}, True, "")
        return
    for row in rows:
        click.echo(f"{row['id']:>8}  {row['received_at']}  {row['status']:<17} {row['event_type']}")
    click.echo(f"{len(rows)} event(s)")


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
    import os

    from .services import csv_import

    with open(path, "rb") as stream:
        imp = csv_import.upload(connection_id, os.path.basename(path), stream)
    imp = csv_import.script(imp, dry_run=dry_run, force=force, ignore_unknown=ignore_unknown)
    data = csv_import.import_dict(imp, dry_run=dry_run)
    counts = ", ".join(f"{n} {k}" for k, n in data["counts"].items())
    verb = "checked (dry run)" if dry_run else "imported"
    _emit(data, as_json, f"import {imp.id}: {imp.total_rows} rows {verb}: {counts}")


@zarts.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def load_demo(as_json):
    """Load demo clients, users, connections and events (first run only); print the logins."""
    created = demo.load()
    logins = demo.LOGINS
    if as_json:
        _emit({"created": created, "logins": logins}, True, "")
        return
    click.echo("Demo data loaded." if created else "Demo data already present.")
    for login in logins:
        click.echo(f"  {login['role']:<6} {login['email']:<32} password: {login['password']}")


from . import cli_sync  # noqa: E402,F401  (health and sync connector commands)
