"""The app context each job runs in: its own database session, ended with the job.

In a worker (worker.py binds the app) each job gets a fresh app context. In-process callers
(tests, the embedded relay and sweeper threads, the CLI) already have one and use it.
"""
from contextlib import nullcontext

from flask import has_app_context

_app = None


def bind_app(app):
    """Use this app for jobs run outside any app context (worker.py calls this)."""
    global _app
    _app = app


def app_context():
    """A context manager: the caller's app context if there is one, else a new one of the bound app."""
    if has_app_context():
        return nullcontext()
    if _app is None:
        raise RuntimeError("zarts jobs need the app: start workers with `python worker.py` (make worker)")
    return _app.app_context()
