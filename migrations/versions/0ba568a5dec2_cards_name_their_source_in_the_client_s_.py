"""cards name their source in the client's words and know when their value changed

metric_definitions.source_name: the card's source as the client reads it (blank: the provider's
plain name). portal_cards.value_changed_at: when the current value last changed, whatever brought it.

Revision ID: 0ba568a5dec2
Revises: 869a888f18f7
Create Date: 2026-11-29 21:45:30.339431

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = '0ba568a5dec2'
down_revision = '869a888f18f7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('metric_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_name', sa.String(length=100), nullable=True))

    with op.batch_alter_table('portal_cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value_changed_at', zarts.models.types.UTCDateTime(), nullable=True))



def downgrade():
    with op.batch_alter_table('portal_cards', schema=None) as batch_op:
        batch_op.drop_column('value_changed_at')

    with op.batch_alter_table('metric_definitions', schema=None) as batch_op:
        batch_op.drop_column('source_name')

