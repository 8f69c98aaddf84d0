"""event explorer indexes and bulk operations

Indexes for the admin event explorer (connection + status, event type over time, search by
dedupe key and by a normalized record's external id) and the audit log's action filter; the
event_bulk_operations table behind bulk retry.

Revision ID: 577c073714e4
Revises: 1e95a3db4e43
Create Date: 2026-11-27 03:33:04.361125

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = '577c073714e4'
down_revision = '1e95a3db4e43'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event_bulk_operations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('cursor', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.Column('started_at', zarts.models.types.UTCDateTime(), nullable=True),
    sa.Column('finished_at', zarts.models.types.UTCDateTime(), nullable=True),
    sa.Column('updated_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_event_bulk_operations_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_bulk_operations'))
    )
    with op.batch_alter_table('event_bulk_operations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_bulk_operations_actor_id'), ['actor_id'], unique=False)

    with op.batch_alter_table('event_admin_actions', schema=None) as batch_op:
        batch_op.create_index('ix_event_admin_actions_action_created', ['action', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('event_webhook_events', schema=None) as batch_op:
        batch_op.create_index('ix_event_webhook_events_conn_status_received', ['connection_id', 'status', 'received_at', 'id'], unique=False)
        batch_op.create_index('ix_event_webhook_events_dedupe_key', ['dedupe_key'], unique=False)
        batch_op.create_index('ix_event_webhook_events_type_received', ['event_type', 'received_at', 'id'], unique=False)

    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.create_index('ix_integration_normalized_events_external_id', ['external_id'], unique=False)


def downgrade():
    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_normalized_events_external_id')

    with op.batch_alter_table('event_webhook_events', schema=None) as batch_op:
        batch_op.drop_index('ix_event_webhook_events_type_received')
        batch_op.drop_index('ix_event_webhook_events_dedupe_key')
        batch_op.drop_index('ix_event_webhook_events_conn_status_received')

    with op.batch_alter_table('event_admin_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_event_admin_actions_action_created')

    # Dropping the table drops its indexes; MySQL would refuse to drop the actor_id index alone
    # while the foreign key uses it.
    op.drop_table('event_bulk_operations')
