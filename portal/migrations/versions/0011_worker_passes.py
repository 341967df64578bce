"""worker passes: each duty's latest pass, for /healthz

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.dbtypes


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_passes',
    sa.Column('duty', sa.String(length=60), nullable=False),
    sa.Column('worker', sa.String(length=120), nullable=False),
    sa.Column('last_ok_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failed_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('duty', name=op.f('pk_worker_passes'))
    )


def downgrade():
    op.drop_table('worker_passes')
