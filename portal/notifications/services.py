"""Writing notifications inside the caller's transaction; counting, listing and
marking them read for their recipient."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import NotFound, PermissionDenied
from portal.extensions import db
from portal.notifications import registry
from portal.notifications.kinds import describe, get_kind
from portal.notifications.models import Notification
from portal.notifications.settings import CHUNK, channels_of

# session.info key: recipient id -> the newest row written for them in this
# transaction (None: only their count changed), pushed once the commit holds.
PUSH = "notifications.push"


@dataclass
class Notice:
    """One change to tell several people of (see :func:`notify`)."""

    kind: str
    item: tuple[str, int]
    recipients: Iterable = ()
    actor: object = None
    values: dict = field(default_factory=dict)
    url: str | None = None
    change: object = None


def _id(who) -> int | None:
    return who if who is None or isinstance(who, int) else who.id


def dedupe_key(kind: str, item: tuple[str, int], change=None) -> str:
    """``kind:type:id[:change]``; a long change identity is hashed to fit."""
    key = f"{kind}:{item[0]}:{item[1]}"
    if change is not None:
        key = f"{key}:{change}"
    if len(key) > 255:
        key = key[:190] + ":" + hashlib.sha256(key.encode()).hexdigest()
    return key


def notify(
    kind: str,
    *,
    item: tuple[str, int],
    recipients: Iterable,
    actor=None,
    values: dict | None = None,
    url: str | None = None,
    change=None,
) -> int:
    """Tell ``recipients`` of one change, inside the caller's transaction (nothing is
    committed here; the live push follows the caller's commit).

    :param kind: a registered kind (portal.notifications.kinds).
    :param item: ``(item_type, item_id)`` the notification is about.
    :param recipients: users or user ids; the actor is left out, duplicates too.
    :param actor: who made the change (user, id or None for the city, the system).
    :param values: small JSON for the words (``title``, ``status``, ``note``...).
    :param url: where it leads, when not the item type's registered link.
    :param change: the change's own identity (the city's updated_datetime, an
        event id): the same kind, item and change reach each person once, whatever
        repeats. None: once per kind and item, ever.
    :returns: how many rows were written (repeats and people who turned every
        channel of the group off are not).
    :raises ValueError: an unknown kind.
    """
    notice = Notice(kind, item, recipients, actor, values or {}, url, change)
    return notify_all([notice])


def notify_all(notices: Iterable[Notice]) -> int:
    """:func:`notify` for many changes at once (a sync page, a batch): one query for
    the recipients' settings and one insert per 500 rows, whatever the count."""
    rows = []
    for notice in notices:
        group = get_kind(notice.kind).group
        actor_id = _id(notice.actor)
        key = dedupe_key(notice.kind, notice.item, notice.change)
        people = {_id(person) for person in notice.recipients} - {actor_id, None}
        for person in sorted(people):
            rows.append(
                {
                    "recipient_id": person,
                    "kind": notice.kind,
                    "item_type": notice.item[0],
                    "item_id": int(notice.item[1]),
                    "actor_id": actor_id,
                    "values": dict(notice.values or {}),
                    "url": notice.url,
                    "dedupe_key": key,
                    "group": group,
                }
            )
    if not rows:
        return 0
    chosen = channels_of({row["recipient_id"] for row in rows})
    kept = []
    for row in rows:
        in_app, email_now, digest = chosen(row["recipient_id"], row.pop("group"))
        if in_app or email_now or digest:
            kept.append(
                {**row, "in_app": in_app, "email_now": email_now, "digest": digest}
            )
    return _insert(kept)


def _insert(rows: list[dict]) -> int:
    if not rows:
        return 0
    now = utcnow()
    table = Notification.__table__
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["recipient_id", "dedupe_key"])
        .returning(table.c.id, table.c.recipient_id, table.c.in_app)
    )
    written = []
    for start in range(0, len(rows), CHUNK):
        chunk = [{**row, "created_at": now} for row in rows[start : start + CHUNK]]
        written.extend(db.session.execute(statement, chunk).all())
    pending = db.session.info.setdefault(PUSH, {}) if written else {}
    for number, recipient, in_app in written:
        if in_app:  # the bell only rings for what it shows
            pending[recipient] = max(number, pending.get(recipient) or 0)
    return len(written)


# --- reading ---


def _visible_rows(user, rows: list[Notification]) -> list[Notification]:
    hidden = registry.hidden_items(user, {(r.item_type, r.item_id) for r in rows})
    return [row for row in rows if (row.item_type, row.item_id) not in hidden]


def unread_counts(user_ids: Iterable[int], users: dict | None = None) -> dict:
    """Unread in-app notifications per person, items they may no longer see left out
    (one query per 500 people, plus the visibility checks that apply).

    :param users: already loaded users by id (the others are loaded when a check
        needs them).
    """
    ids = sorted(set(user_ids))
    counts = dict.fromkeys(ids, 0)
    checked = registry.checked_types()
    to_check: dict[int, dict] = {}
    for start in range(0, len(ids), CHUNK):
        query = (
            select(
                Notification.recipient_id,
                Notification.item_type,
                Notification.item_id,
                func.count(),
            )
            .where(
                Notification.recipient_id.in_(ids[start : start + CHUNK]),
                Notification.read_at.is_(None),
                Notification.in_app.is_(True),
            )
            .group_by(
                Notification.recipient_id,
                Notification.item_type,
                Notification.item_id,
            )
        )
        for recipient, item_type, item_id, number in db.session.execute(query):
            counts[recipient] += number
            if item_type in checked:
                items = to_check.setdefault(recipient, {})
                items[(item_type, item_id)] = number
    for recipient, items in to_check.items():
        user = (users or {}).get(recipient) or db.session.get(User, recipient)
        for item in registry.hidden_items(user, items):
            counts[recipient] -= items[item]
    return counts


def unread_count(user) -> int:
    """The bell's number: unread in-app notifications ``user`` may still see."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return unread_counts([user.id], {user.id: user})[user.id]


def recent(user, *, limit=50, before: int | None = None, unread_only=False):
    """The user's in-app notifications, newest first, visible ones only.

    :param before: only those with a smaller id (the previous page's ``next``).
    :returns: (rows, next) where ``next`` is the id to pass as ``before`` for the
        following page, or None at the end.
    """
    query = select(Notification).where(
        Notification.recipient_id == user.id, Notification.in_app.is_(True)
    )
    if before is not None:
        query = query.where(Notification.id < before)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = list(
        db.session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    following = rows[-1].id if more and rows else None
    return _visible_rows(user, rows), following


@dataclass
class Group:
    """The notifications about one item, newest first."""

    item_type: str
    item_id: int
    rows: list = field(default_factory=list)

    @property
    def unread(self) -> int:
        return sum(1 for row in self.rows if row.read_at is None)

    @property
    def newest(self) -> Notification:
        return self.rows[0]


def grouped(user, limit=200) -> list[Group]:
    """The latest ``limit`` notifications grouped by item: each group newest first,
    and groups in the order of their newest."""
    rows, _next = recent(user, limit=limit)
    groups: dict[tuple[str, int], Group] = {}
    for row in rows:
        key = (row.item_type, row.item_id)
        groups.setdefault(key, Group(*key)).rows.append(row)
    return list(groups.values())


def text_of(row: Notification) -> str:
    """The notification's sentence in the current language."""
    actor = db.session.get(User, row.actor_id) if row.actor_id else None
    return describe(row.kind, row.values, actor.display_name if actor else None)


def link_of(row: Notification) -> str | None:
    """Where the notification leads: its own url, else its item type's link.

    :raises RuntimeError: the link needs a request to be built in (url_for).
    """
    return row.url or registry.link_for(row.item_type, row.item_id)


def _signed_in(user):
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in first."))
    return user


def _count_changed(user_id: int) -> None:
    # Their other tabs' bells follow (see notify.py); a new row keeps its place.
    db.session.info.setdefault(PUSH, {}).setdefault(user_id, None)


def mark_read(user, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (again: no change).

    :raises NotFound: no such notification of theirs (another's is not told apart).
    """
    user = _signed_in(user)
    row = db.session.get(Notification, notification_id)
    if row is None or row.recipient_id != user.id:
        raise NotFound(
            _("There is no notification %(id)s.", id=notification_id), "notification"
        )
    if row.read_at is None:
        row.read_at = utcnow()
        _count_changed(user.id)
    db.session.commit()
    return row


def mark_all_read(user, item: tuple[str, int] | None = None) -> int:
    """Mark every unread notification of the user read, or those about one item
    (a domain calls this when its page of the item is opened); answers how many."""
    user = _signed_in(user)
    query = update(Notification).where(
        Notification.recipient_id == user.id, Notification.read_at.is_(None)
    )
    if item is not None:
        query = query.where(
            Notification.item_type == item[0], Notification.item_id == item[1]
        )
    changed = db.session.execute(
        query.values(read_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        _count_changed(user.id)
    db.session.commit()
    return changed


def read_on_visit(user, item: tuple[str, int]) -> int:
    """Opening an item's page reads what the person was told of it. One indexed
    look first: a visit with nothing unread writes nothing."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    unread = db.session.scalar(
        select(Notification.id)
        .where(
            Notification.recipient_id == user.id,
            Notification.read_at.is_(None),
            Notification.item_type == item[0],
            Notification.item_id == item[1],
        )
        .limit(1)
    )
    return 0 if unread is None else mark_all_read(user, item)
