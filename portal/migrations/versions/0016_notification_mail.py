"""notifications: email state per notification, digest runs, private feed keys

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.dbtypes


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('digest_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('due_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('claim', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', portal.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('items', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_digest_runs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_runs')),
    sa.UniqueConstraint('user_id', 'period', name=op.f('uq_digest_runs_user_id'))
    )
    with op.batch_alter_table('digest_runs', schema=None) as batch_op:
        batch_op.create_index('ix_digest_runs_state', ['state', 'claimed_until'], unique=False)

    op.create_table('feed_keys',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('reset_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_feed_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_feed_keys'))
    )
    with op.batch_alter_table('digest_schedules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=True))

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_claim', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('email_claimed_until', portal.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('email_handed_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('emailed_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('email_outcome', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('email_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('digest_run_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notifications_digest_run_id_digest_runs'), 'digest_runs', ['digest_run_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_notifications_email_due', ['email_now', 'emailed_at'], unique=False)
        batch_op.create_index('ix_notifications_digest_due', ['digest_run_id', 'digest', 'recipient_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_digest_due')
        batch_op.drop_index('ix_notifications_email_due')
        batch_op.drop_constraint(batch_op.f('fk_notifications_digest_run_id_digest_runs'), type_='foreignkey')
        batch_op.drop_column('digest_run_id')
        batch_op.drop_column('email_attempts')
        batch_op.drop_column('email_outcome')
        batch_op.drop_column('emailed_at')
        batch_op.drop_column('email_handed_at')
        batch_op.drop_column('email_claimed_until')
        batch_op.drop_column('email_claim')

    with op.batch_alter_table('digest_schedules', schema=None) as batch_op:
        batch_op.drop_column('language')

    op.drop_table('feed_keys')
    with op.batch_alter_table('digest_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_runs_state')

    op.drop_table('digest_runs')
