"""events remember their claim, outcome and normalized record

Revision ID: 9fbd2f509500
Revises: 287de9aa3f3a
Create Date: 2026-11-27 03:15:25.729634

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = '9fbd2f509500'
down_revision = '287de9aa3f3a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event_webhook_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('normalized_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_event_webhook_events_normalized_event_id'), ['normalized_event_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_event_webhook_events_normalized_event_id_integration_normalized_events'), 'integration_normalized_events', ['normalized_event_id'], ['id'])

    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        # The foreign key goes first: MySQL refuses to drop an index a foreign key still uses.
        batch_op.drop_constraint(batch_op.f('fk_integration_normalized_events_webhook_event_id_event_webhook_events'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_integration_normalized_events_webhook_event_id'))
        batch_op.drop_column('webhook_event_id')



def downgrade():
    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_integration_normalized_events_webhook_event_id_event_webhook_events'), 'event_webhook_events', ['webhook_event_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_integration_normalized_events_webhook_event_id'), ['webhook_event_id'], unique=False)

    with op.batch_alter_table('event_webhook_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_event_webhook_events_normalized_event_id_integration_normalized_events'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_event_webhook_events_normalized_event_id'))
        batch_op.drop_column('outcome')
        batch_op.drop_column('normalized_event_id')
        batch_op.drop_column('claim_token')

