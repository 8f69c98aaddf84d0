"""mapping version reasons and replay version pins

connection_mappings.reason: why a version was saved (shown with its diff; earlier versions have
none); event_webhook_events.mapping_version_pin: the mapping version a replay asked for (0 the
provider's default, NULL the one in force).

Revision ID: 02c73b95bed3
Revises: 1b993e5f4b6e
Create Date: 2026-11-29 23:53:54.959006

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = '02c73b95bed3'
down_revision = '1b993e5f4b6e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connection_mappings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))

    with op.batch_alter_table('event_webhook_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mapping_version_pin', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('event_webhook_events', schema=None) as batch_op:
        batch_op.drop_column('mapping_version_pin')

    with op.batch_alter_table('connection_mappings', schema=None) as batch_op:
        batch_op.drop_column('reason')
