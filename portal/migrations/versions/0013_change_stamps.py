"""map and tickets: change stamps for answers kept in memory

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 18:20:00.000000

"""


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
