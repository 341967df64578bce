"""city link: repeated same errors on tickets, unreadable service definitions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.dbtypes


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('same_errors', sa.Integer(), server_default='0', nullable=False)
        )
        batch_op.add_column(
            sa.Column('last_posted_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('city_services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('definition_error', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('city_services', schema=None) as batch_op:
        batch_op.drop_column('definition_error')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('last_posted_at')
        batch_op.drop_column('same_errors')
