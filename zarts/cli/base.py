"""The `zarts` command group and what every command shares: one-line errors, JSON output."""
import json
import sys
from functools import wraps

import click
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..services import DomainError, json_object


class _OneLineErrors(click.Group):
    """Usage mistakes (a missing or invalid option) end in one `error:` line, like domain errors."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            click.echo("error: " + " ".join(exc.format_message().split()), err=True)
            ctx.exit(2)


zarts = _OneLineErrors("zarts", help="Set up and inspect zarts from scripts.")


def get_or_fail(model, row_id, what):
    """The row with this id, or a one-line error ("unknown connection 7")."""
    row = db.session.get(model, row_id)
    if row is None:
        raise DomainError(f"unknown {what} {row_id}")
    return row


def emit(data, as_json, human):
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


def set_option(text):
    """The --set option's JSON object; DomainError when it is not one."""
    try:
        return json_object(text)
    except DomainError as exc:
        raise DomainError(f"--set: {exc}") from None
