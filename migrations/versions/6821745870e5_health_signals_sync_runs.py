"""health signals, sync runs

connection_health_signals: per-minute counts of rejected deliveries and provider throttling, so
the health check can count them in a window. integration_sync_runs: one row per pull-sync run
(its counters, cursor before/after, and a lease: open_key is unique while a run holds its
connection). An index on integration_sync_errors (connection_id, created_at) for the health
check's "failed attempts in the last hour".

Revision ID: 6821745870e5
Revises: b50b4eebd507
Create Date: 2026-11-27 03:50:23.767832

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = '6821745870e5'
down_revision = 'b50b4eebd507'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('connection_health_signals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('bucket_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_connection_health_signals_connection_id_connections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_health_signals')),
    sa.UniqueConstraint('connection_id', 'kind', 'bucket_at', name=op.f('uq_connection_health_signals_connection_id_kind_bucket_at'))
    )
    with op.batch_alter_table('connection_health_signals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connection_health_signals_bucket_at'), ['bucket_at'], unique=False)

    op.create_table('integration_sync_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('open_key', sa.Integer(), nullable=True),
    sa.Column('lease_token', sa.String(length=32), nullable=True),
    sa.Column('lease_expires_at', zarts.models.types.UTCDateTime(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('stored', sa.Integer(), nullable=False),
    sa.Column('duplicate', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('throttled', sa.Integer(), nullable=False),
    sa.Column('retried', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('cursor_before', sa.Text(), nullable=True),
    sa.Column('cursor_after', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('error_kind', sa.String(length=16), nullable=True),
    sa.Column('retry_at', zarts.models.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.Column('started_at', zarts.models.types.UTCDateTime(), nullable=True),
    sa.Column('finished_at', zarts.models.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_integration_sync_runs_actor_id_users')),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_integration_sync_runs_connection_id_connections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_sync_runs')),
    sa.UniqueConstraint('open_key', name=op.f('uq_integration_sync_runs_open_key'))
    )
    with op.batch_alter_table('integration_sync_runs', schema=None) as batch_op:
        batch_op.create_index('ix_integration_sync_runs_conn_id', ['connection_id', 'id'], unique=False)

    with op.batch_alter_table('integration_sync_errors', schema=None) as batch_op:
        batch_op.create_index('ix_integration_sync_errors_conn_created', ['connection_id', 'created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('integration_sync_errors', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_sync_errors_conn_created')

    # Dropping the tables drops their indexes (MySQL refuses to drop one a foreign key still uses).
    op.drop_table('integration_sync_runs')
    op.drop_table('connection_health_signals')
