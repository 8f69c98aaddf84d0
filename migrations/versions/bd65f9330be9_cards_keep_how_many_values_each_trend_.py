"""cards keep how many values each trend period is made of

portal_cards.trend_counts: beside each trend value, how many metric values it is made of, so the
drill-down of a period too big to list takes its count (and total) from the card. NULL on cards
drawn before this; the next refresh fills it.

Revision ID: bd65f9330be9
Revises: 0ba568a5dec2
Create Date: 2026-11-29 22:06:32.005724

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = 'bd65f9330be9'
down_revision = '0ba568a5dec2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('portal_cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trend_counts', sa.JSON(), nullable=True))  # existing cards: drawn anew



def downgrade():
    with op.batch_alter_table('portal_cards', schema=None) as batch_op:
        batch_op.drop_column('trend_counts')

