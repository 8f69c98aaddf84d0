"""csv import sources and client uploads

csv_imports.source says how a file came in (admin, cli, webhook, portal; earlier imports without
an actor came from the CLI); delivery_id is a webhook delivery's id, unique per connection, so a
redelivery finds the file it already brought; auto_import imports right after the dry run.
connections.client_upload lets a client's users upload their own files in the portal.

Revision ID: 0b83a278502b
Revises: bd65f9330be9
Create Date: 2026-11-29 22:55:59.332879

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = '0b83a278502b'
down_revision = 'bd65f9330be9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_upload', sa.Boolean(), server_default=sa.text('0'), nullable=False))

    with op.batch_alter_table('csv_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='admin', nullable=False))
        batch_op.add_column(sa.Column('delivery_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('auto_import', sa.Boolean(), server_default=sa.text('0'), nullable=False))
        batch_op.create_unique_constraint('uq_csv_imports_connection_delivery', ['connection_id', 'delivery_id'])
    op.execute("UPDATE csv_imports SET source = 'cli' WHERE actor_id IS NULL")


def downgrade():
    with op.batch_alter_table('csv_imports', schema=None) as batch_op:
        batch_op.drop_constraint('uq_csv_imports_connection_delivery', type_='unique')
        batch_op.drop_column('auto_import')
        batch_op.drop_column('delivery_id')
        batch_op.drop_column('source')

    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('client_upload')
