"""events: the on-site notices become notifications; the notices table goes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 10:00:00.000000

"""
import re

from alembic import op
import sqlalchemy as sa

import portal.dbtypes


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# Rows per statement: well under SQLite's and PostgreSQL's limits on bound values.
CHUNK = 500
# A notice's link, when it was an event's page, names the event it was about.
EVENT_PATH = re.compile(r"^/events/(\d+)$")
KIND = 'event_notice'  # registered by portal.events.hearing: "%(text)s"

# The tables as they are at this revision (the models move on; this file must not).
notices = sa.table(
    'notices',
    sa.column('id', sa.Integer),
    sa.column('user_id', sa.Integer),
    sa.column('text', sa.String),
    sa.column('url', sa.String),
    sa.column('created_at', portal.dbtypes.UTCDateTime(timezone=True)),
    sa.column('read_at', portal.dbtypes.UTCDateTime(timezone=True)),
)
notifications = sa.table(
    'notifications',
    sa.column('id', sa.Integer),
    sa.column('recipient_id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('item_type', sa.String),
    sa.column('item_id', sa.Integer),
    sa.column('actor_id', sa.Integer),
    sa.column('values', sa.JSON),
    sa.column('url', sa.String),
    sa.column('dedupe_key', sa.String),
    sa.column('in_app', sa.Boolean),
    sa.column('email_now', sa.Boolean),
    sa.column('digest', sa.Boolean),
    sa.column('created_at', portal.dbtypes.UTCDateTime(timezone=True)),
    sa.column('read_at', portal.dbtypes.UTCDateTime(timezone=True)),
)


def _as_notification(row) -> dict:
    found = EVENT_PATH.match(row.url or '')
    # An event's notice is about that event; any other is its own item.
    item = ('event', int(found.group(1))) if found else ('notice', row.id)
    return {
        'recipient_id': row.user_id,
        'kind': KIND,
        'item_type': item[0],
        'item_id': item[1],
        'actor_id': None,
        'values': {'text': row.text, 'title': row.text},
        'url': row.url,
        'dedupe_key': f'notice:{row.id}',
        # Shown on the site as before; never mailed now, long after the fact.
        'in_app': True,
        'email_now': False,
        'digest': False,
        'created_at': row.created_at,
        'read_at': row.read_at,
    }


def upgrade():
    bind = op.get_bind()
    # Read and written through SQLAlchemy's types (JSON, UTC times), the same on
    # SQLite and PostgreSQL; by id, so a table of any size moves in pieces.
    last = 0
    while True:
        rows = bind.execute(
            sa.select(notices).where(notices.c.id > last)
            .order_by(notices.c.id).limit(CHUNK)
        ).all()
        if not rows:
            break
        moved = [_as_notification(row) for row in rows]
        taken = {
            (recipient, key)
            for recipient, key in bind.execute(
                sa.select(notifications.c.recipient_id, notifications.c.dedupe_key)
                .where(notifications.c.dedupe_key.in_([m['dedupe_key'] for m in moved]))
            )
        }
        fresh = [m for m in moved if (m['recipient_id'], m['dedupe_key']) not in taken]
        if fresh:
            bind.execute(notifications.insert(), fresh)
        last = rows[-1].id
    op.drop_table('notices')  # its index with it


def downgrade():
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('url', sa.String(length=300), nullable=True),
    sa.Column('created_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_user_id'), ['user_id'], unique=False)
    # The notices that came from there go back, under their own ids; what the
    # notifications said since has no place in the old table and stays.
    bind = op.get_bind()
    last = 0
    moved_back = sa.and_(
        notifications.c.kind == KIND, notifications.c.dedupe_key.like('notice:%')
    )
    while True:
        rows = bind.execute(
            sa.select(notifications).where(moved_back, notifications.c.id > last)
            .order_by(notifications.c.id).limit(CHUNK)
        ).all()
        if not rows:
            break
        bind.execute(notices.insert(), [
            {
                'id': int(row.dedupe_key.split(':', 1)[1]),
                'user_id': row.recipient_id,
                'text': str((row.values or {}).get('text') or '')[:500],
                'url': row.url,
                'created_at': row.created_at,
                'read_at': row.read_at,
            }
            for row in rows
        ])
        last = rows[-1].id
    bind.execute(notifications.delete().where(moved_back))
    if bind.dialect.name == 'postgresql':
        # Ids were given explicitly: the sequence must start after them.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('notices', 'id'), "
            "COALESCE((SELECT MAX(id) FROM notices), 0) + 1, false)"
        )
