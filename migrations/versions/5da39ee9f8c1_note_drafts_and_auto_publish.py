"""note drafts and auto-publish

report_notes.status: published, draft (written by zarts, waiting for the owner's review) or
discarded; existing notes are published. connections.auto_publish_notes: skip the review.

Revision ID: 5da39ee9f8c1
Revises: e13a0c5b7d21
Create Date: 2026-11-29 20:57:15.383870

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = '5da39ee9f8c1'
down_revision = 'e13a0c5b7d21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_publish_notes', sa.Boolean(), server_default=sa.text('0'), nullable=False))

    with op.batch_alter_table('report_notes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='published', nullable=False))



def downgrade():
    with op.batch_alter_table('report_notes', schema=None) as batch_op:
        batch_op.drop_column('status')

    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('auto_publish_notes')

