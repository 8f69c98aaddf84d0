"""The migrations match the models and run both ways on the test backend (SQLite or MariaDB)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from zarts.extensions import db


def drift():
    """What `flask db check` would report: differences between models and the migrated schema."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_models_and_migrations_agree(app):
    assert drift() == []


def test_downgrade_to_base_and_upgrade_again(app):
    db.session.remove()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert {t.name for t in db.metadata.sorted_tables} <= set(inspect(db.engine).get_table_names())
    assert drift() == []
