"""app keys: Open311 clients filing through the portal's own GeoReport v2

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.dbtypes


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('app_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_app_keys_key_hash'))
    )


def downgrade():
    op.drop_table('app_keys')
