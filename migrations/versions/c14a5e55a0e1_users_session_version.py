"""users session version, rate limit counters

users.session_version: part of every session and remember cookie; logout and a password change
bump it, so copied cookies stop working. rate_limit_counters: the login limits' fixed-window
counters, shared by every web process through the database when there is no Redis.

Revision ID: c14a5e55a0e1
Revises: 7111cdde8055
Create Date: 2026-11-29 17:52:45.335810

"""
import sqlalchemy as sa
from alembic import op

import zarts.models.types

# revision identifiers, used by Alembic.
revision = "c14a5e55a0e1"
down_revision = "7111cdde8055"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limit_counters',
    sa.Column('key_digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key_digest', name=op.f('pk_rate_limit_counters'))
    )
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_counters_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')

    op.drop_table('rate_limit_counters')  # its index goes with it
