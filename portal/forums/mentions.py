"""@mentions in forum posts: the names a post calls out, resolved to accounts.

Display names are not unique and may hold spaces ("Ann Smith"), so ``@`` is followed
by the longest run of up to six words that is someone's name, compared without
regard to case. A name several accounts share goes to the one among them who took
part in the thread; if that leaves more than one, or none, nobody is told (no
stranger hears of a post meant for someone else). A name nobody has is refused, so
the writer sees the typo. Quoted lines and code are not mentions.
"""

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from portal.auth.models import User
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.forums.models import Post, Thread

# After a space, a line's start or an opening bracket or quote, and before a letter:
# never inside an address (ann@example.org), a link (site.org/@ann) or "@ 5pm".
AT = re.compile(r"(?<![^\s(\[{\"'“‘])@(?=[^\W\d_])")
FENCED = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"(`+)[^`]*?\1")
WORDS_MAX = 6
NAME_MAX = 80
MENTIONS_MAX = 20
TRAILING = ".,;:!?)]}\"'”’…"


@dataclass
class Mention:
    """One ``@`` in the text: the names it may be, longest first."""

    candidates: list[str]

    @property
    def shortest(self) -> str:
        return self.candidates[-1]


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _readable_lines(source: str):
    """The lines that are the writer's own words: not code, not quoted."""
    for line in FENCED.sub("", source).splitlines():
        if line.lstrip().startswith(">"):
            continue  # a quote's mentions were its own author's
        yield INLINE_CODE.sub(" ", line)


def find_mentions(source: str) -> list[Mention]:
    """Every ``@name`` the writer typed, in order (repeats included)."""
    found = []
    for line in _readable_lines(source or ""):
        for match in AT.finditer(line):
            words = line[match.end() :].split()[:WORDS_MAX]
            names = []
            for count in range(len(words), 0, -1):
                name = " ".join(words[:count])
                for variant in (name, name.rstrip(TRAILING)):
                    if variant and len(variant) <= NAME_MAX and variant not in names:
                        names.append(variant)
            if names:
                found.append(Mention(names))
    return found


def _participants(thread: Thread | None) -> set[int]:
    if thread is None or thread.id is None:
        return set()
    authors = set(
        db.session.scalars(
            select(Post.author_id).where(
                Post.thread_id == thread.id, Post.author_id.is_not(None)
            )
        )
    )
    return authors | ({thread.author_id} if thread.author_id else set())


def resolve(source: str, thread: Thread | None = None, strict=True) -> list[User]:
    """The accounts a post's text mentions (one query for all its names).

    :param thread: the thread it is written in, whose participants settle a name
        that several accounts share (None: a new thread).
    :param strict: False for a post written already (approved later): a name
        nobody has any more is passed over, not refused.
    :raises ValidationFailed: naming ``body``: a name nobody has, or more than 20
        mentions in one post.
    """
    mentions = find_mentions(source)
    if not mentions:
        return []
    if len(mentions) > MENTIONS_MAX and strict:
        raise ValidationFailed(
            _("Mention at most %(n)d people in one post.", n=MENTIONS_MAX), "body"
        )
    mentions = mentions[:MENTIONS_MAX]
    typed = sorted({name for mention in mentions for name in mention.candidates})
    lowered = sorted({name.lower() for name in typed})
    # SQL's lower() knows ASCII only: the names as typed are asked for too, and
    # the comparison that counts is made here, with casefold.
    accounts = db.session.scalars(
        select(User).where(
            or_(
                func.lower(User.display_name).in_(lowered), User.display_name.in_(typed)
            )
        )
    )
    by_name: dict[str, list[User]] = {}
    for account in accounts:
        by_name.setdefault(_key(account.display_name), []).append(account)
    participants = None
    chosen: dict[int, User] = {}
    for mention in mentions:
        named = next(
            (by_name[_key(n)] for n in mention.candidates if _key(n) in by_name), None
        )
        if named is None and not strict:
            continue
        if named is None:
            raise ValidationFailed(
                _(
                    "Nobody here is called “%(name)s”. Check the name, or leave "
                    "out the @.",
                    name=mention.shortest,
                ),
                "body",
            )
        if len(named) > 1:
            if participants is None:
                participants = _participants(thread)
            named = [account for account in named if account.id in participants]
        if len(named) == 1:
            chosen[named[0].id] = named[0]
    return list(chosen.values())
