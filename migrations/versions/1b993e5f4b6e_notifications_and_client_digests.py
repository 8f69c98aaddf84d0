"""notifications and client digests

notification_destinations: where an admin's, a connection's or the on-call alerts go (email, a
Slack-compatible webhook, a signed JSON webhook), targets and secrets encrypted; notifications:
each message, written with the change that caused it and sent by a job. connections get an alert
snooze; clients a digest switch and when their last digest went; users a one-click unsubscribe.

Revision ID: 1b993e5f4b6e
Revises: 0b83a278502b
Create Date: 2026-11-29 23:38:42.242854

"""
from alembic import op
import sqlalchemy as sa

import zarts.models.types


# revision identifiers, used by Alembic.
revision = '1b993e5f4b6e'
down_revision = '0b83a278502b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_destinations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('target_shown', sa.String(length=255), nullable=False),
    sa.Column('secret_encrypted', sa.LargeBinary(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('failing', sa.Boolean(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_error_at', zarts.models.types.UTCDateTime(), nullable=True),
    sa.Column('last_sent_at', zarts.models.types.UTCDateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_notification_destinations_connection_id_connections')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_notification_destinations_created_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_destinations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_destinations'))
    )
    with op.batch_alter_table('notification_destinations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_destinations_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_destinations_user_id'), ['user_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('destination_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('group_key', sa.String(length=191), nullable=True),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.Column('created_at', zarts.models.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', zarts.models.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_notifications_client_id_clients')),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_notifications_connection_id_connections')),
    sa.ForeignKeyConstraint(['destination_id'], ['notification_destinations.id'], name=op.f('fk_notifications_destination_id_notification_destinations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_destination_id'), ['destination_id'], unique=False)
        batch_op.create_index('ix_notifications_group', ['group_key', 'status'], unique=False)
        batch_op.create_index('ix_notifications_status_due', ['status', 'due_at'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_enabled', sa.Boolean(), server_default=sa.text('1'), nullable=False))
        batch_op.add_column(sa.Column('digest_sent_at', zarts.models.types.UTCDateTime(), nullable=True))

    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alerts_snoozed_until', zarts.models.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('alerts_snooze_reason', sa.String(length=500), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_unsubscribed_at', zarts.models.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('digest_unsubscribed_at')

    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('alerts_snooze_reason')
        batch_op.drop_column('alerts_snoozed_until')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('digest_sent_at')
        batch_op.drop_column('digest_enabled')

    # the tables' indexes go with them (MariaDB will not drop an index a foreign key needs first)
    op.drop_table('notifications')
    op.drop_table('notification_destinations')