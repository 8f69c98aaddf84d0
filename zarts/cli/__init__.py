"""The scripting contract: `flask --app wsgi zarts ...` commands that call the services.

Each module adds its commands to the one `zarts` group (base): setup, accounts, events, imports, health, sync,
proof, notify, mapping.
"""
from . import accounts, events, health, imports, mapping, notify, proof, setup, sync  # noqa: F401 (add commands)
from .base import zarts


def init_app(app):
    """Register the `zarts` command group."""
    app.cli.add_command(zarts)
