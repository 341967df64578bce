"""map and tickets: change stamps for answers kept in memory

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.map import stamps


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'change_stamps',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    # A plain ADD COLUMN (no batch): a table rebuild would drop the spatial triggers.
    op.add_column(
        'tickets',
        sa.Column('revision', sa.Integer(), server_default='0', nullable=False),
    )
    stamps.create(op.get_bind())


def downgrade():
    stamps.drop(op.get_bind())
    # SQLite (3.35 on) drops a column in place once no trigger names it.
    op.execute('ALTER TABLE tickets DROP COLUMN revision')
    op.drop_table('change_stamps')
