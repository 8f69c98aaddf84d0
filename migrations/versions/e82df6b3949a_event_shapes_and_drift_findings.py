"""event shapes and drift findings

event_shapes: per connection and event type, each JSON path seen in deliveries, its types, how
often it is present, a masked example and its current missing streak (the mapping studio's paths
index); drift_findings: a mapped path that stopped coming or changed type, or a new event type,
open until accepted or fixed.

Revision ID: e82df6b3949a
Revises: 02c73b95bed3
Create Date: 2026-11-29 23:57:19.930658

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = 'e82df6b3949a'
down_revision = '02c73b95bed3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('drift_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('open_key', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', zarts.models.types.UTCDateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_drift_findings_connection_id_connections')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_drift_findings_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drift_findings')),
    sa.UniqueConstraint('open_key', name=op.f('uq_drift_findings_open_key'))
    )
    with op.batch_alter_table('drift_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drift_findings_connection_id'), ['connection_id'], unique=False)

    op.create_table('event_shapes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=255), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('types', sa.JSON(), nullable=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('missing_streak', sa.Integer(), nullable=False),
    sa.Column('example', sa.String(length=200), nullable=True),
    sa.Column('first_seen_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_event_shapes_connection_id_connections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_shapes')),
    sa.UniqueConstraint('connection_id', 'key_hash', name='uq_event_shapes_connection_key')
    )


def downgrade():
    op.drop_table('event_shapes')
    op.drop_table('drift_findings')
