"""the last refused deliveries of each connection

connection_rejections: a ring of the last 20 refused deliveries per connection (when, the status
answered, the reason; never the body), shown on the connection page.

Revision ID: 869a888f18f7
Revises: 5da39ee9f8c1
Create Date: 2026-11-29 20:59:05.913497

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = '869a888f18f7'
down_revision = '5da39ee9f8c1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('connection_rejections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('rejected_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_connection_rejections_connection_id_connections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_rejections')),
    sa.UniqueConstraint('connection_id', 'slot', name=op.f('uq_connection_rejections_connection_id_slot'))
    )


def downgrade():
    op.drop_table('connection_rejections')
