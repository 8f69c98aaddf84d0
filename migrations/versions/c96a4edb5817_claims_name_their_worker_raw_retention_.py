"""claims name their worker, raw retention, client-visible delay

event_webhook_events.claimed_by: the worker process holding a claim, so the sweeper ends a dead
worker's claims at once. integration_raw_events.purged_at (+ an index on received_at): raw bodies
of finished events are emptied after the retention period. connections.raw_retention_days: a
per-connection override. connections.data_delayed: what clients are told, apart from health.

Revision ID: c96a4edb5817
Revises: c14a5e55a0e1
Create Date: 2026-11-29 18:00:09.232367

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = 'c96a4edb5817'
down_revision = 'c14a5e55a0e1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_delayed', sa.Boolean(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('raw_retention_days', sa.Integer(), nullable=True))

    with op.batch_alter_table('event_webhook_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))

    with op.batch_alter_table('integration_raw_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', zarts.models.types.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_integration_raw_events_received', ['received_at', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('integration_raw_events', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_raw_events_received')
        batch_op.drop_column('purged_at')

    with op.batch_alter_table('event_webhook_events', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')

    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('raw_retention_days')
        batch_op.drop_column('data_delayed')

