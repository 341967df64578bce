"""map: a covering index for viewport cluster reads on ticket_cells

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 09:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # A plain CREATE INDEX (no batch): the table keeps its rows and triggers.
    op.create_index(
        'ix_ticket_cells_view',
        'ticket_cells',
        ['level', 'status', 'cx', 'cy', 'n', 'lat_sum', 'lon_sum'],
        unique=False,
    )


def downgrade():
    op.drop_index('ix_ticket_cells_view', table_name='ticket_cells')
