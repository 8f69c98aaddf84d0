"""The embedded SQLite database runs in WAL mode with a full sync on every commit."""
import pytest
from sqlalchemy import text

from zarts import create_app
from zarts.extensions import db


def test_sqlite_file_uses_wal_and_full_sync(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/z.sqlite",
                      "SECRET_KEY": "x", "ZARTS_SECRETS_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="})
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        db.engine.dispose()


def test_the_suite_database_is_in_wal_mode_when_it_is_sqlite(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("MariaDB run: WAL is a SQLite setting")
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
