"""`flask zarts set-password`: change a user's password, which logs them out everywhere."""
import sys

import click

from ..services import DomainError
from ..services.setup import accounts
from .base import domain_command, emit, zarts


@zarts.command("set-password")
@click.option("--email", required=True, help="The user's email.")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (one line).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def set_password(email, password_stdin, as_json):
    """Set a user's password; every session and remember cookie of theirs stops working."""
    if not password_stdin:  # never on the command line, where shell history and `ps` would keep it
        raise DomainError("give the new password on standard input with --password-stdin")
    user = accounts.get_user(email)
    accounts.change_password(user, sys.stdin.readline().rstrip("\r\n"))
    emit({"id": user.id, "email": user.email, "sessions_revoked": True}, as_json,
         f"password of {user.email} changed; every session of theirs is logged out")
