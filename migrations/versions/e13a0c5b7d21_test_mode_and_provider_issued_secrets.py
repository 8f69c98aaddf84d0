"""test mode and provider-issued secrets

event_webhook_events.mode and integration_normalized_events.mode (live / test): test deliveries
are stored and normalized into records of their own, which never feed metrics; the record key
becomes (connection, mode, object type, external id). connections.secret_source: who issued the
signing secret, zarts (generated) or the provider (pasted).

Revision ID: e13a0c5b7d21
Revises: c96a4edb5817
Create Date: 2026-11-29 18:34:29.234693

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = 'e13a0c5b7d21'
down_revision = 'c96a4edb5817'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret_source', sa.String(length=16), server_default='zarts', nullable=False))

    with op.batch_alter_table('event_webhook_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=8), server_default='live', nullable=False))

    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=8), server_default='live', nullable=False))
        # The new key first: on MariaDB the connection_id foreign key needs an index led by it at all times.
        batch_op.create_unique_constraint('uq_integration_normalized_events_record', ['connection_id', 'mode', 'object_type', 'external_id'])
        batch_op.drop_constraint(batch_op.f('uq_integration_normalized_events_connection_id_object_type_external_id'), type_='unique')



def downgrade():
    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_integration_normalized_events_connection_id_object_type_external_id'), ['connection_id', 'object_type', 'external_id'])
        batch_op.drop_constraint('uq_integration_normalized_events_record', type_='unique')
        batch_op.drop_column('mode')

    with op.batch_alter_table('event_webhook_events', schema=None) as batch_op:
        batch_op.drop_column('mode')

    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('secret_source')

