"""The embedded SQLite database in write-ahead-log mode, synced on every commit.

WAL lets readers (admin pages, the portal, the sweeper) go on while a writer commits, and a commit
costs one fsync of the log instead of the rollback journal's several. synchronous=FULL keeps
"persist before ack": a committed delivery survives a power cut. Other databases are left alone.
"""
import sqlite3

from sqlalchemy import event

from .blocking import off_the_loop


class Connection(sqlite3.Connection):
    """A SQLite connection whose commit (the fsync) runs off a gevent worker's loop."""

    def commit(self):
        return off_the_loop(super().commit)


def init_app(app):
    """Set the pragmas on every new connection of the app's SQLite engines."""
    from .extensions import db

    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _pragmas)


def _pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # kept in the file; "memory" for in-memory databases
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()
