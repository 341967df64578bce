"""Demo loading: the generated neighborhoods and one account per role, idempotently."""

from collections.abc import Callable

from flask import current_app
from sqlalchemy import func, select

from portal.areas import services as areas
from portal.areas.models import Area
from portal.auth import services as auth
from portal.auth.models import User
from portal.demo.geography import demo_areas
from portal.demo.meetings import load_meetings
from portal.errors import NotFound
from portal.extensions import db

# (email, display name, role, area slug the role is scoped to)
DEMO_ACCOUNTS = [
    ("resident@example.org", "Rosa Resident", "resident", None),
    ("captain@example.org", "Carl Captain", "captain", "fishtown"),
    ("liaison@example.org", "Lee Liaison", "liaison", "kensington"),
    ("moderator@example.org", "Mo Moderator", "moderator", None),
    ("admin@example.org", "Ada Admin", "admin", None),
]
HOME_AREA = "fishtown"


def is_empty() -> bool:
    """True when no user exists yet: the first `portal run` loads the demo."""
    return not db.session.scalar(select(func.count()).select_from(User))


def load_demo(progress: Callable[[str], None] = print) -> None:
    """Create (or refresh) the demo areas, accounts and meetings; safe to run again."""
    progress(f"demo: {len(demo_areas())} neighborhoods…")
    areas.save_areas(demo_areas())
    home = db.session.scalar(select(Area).where(Area.slug == HOME_AREA))
    password = current_app.config["DEMO_PASSWORD"]
    for index, (email, name, role, area_slug) in enumerate(DEMO_ACCOUNTS, start=1):
        progress(f"demo: account {index}/{len(DEMO_ACCOUNTS)} {email}")
        try:
            user = auth.get_user_by_email(email)
        except NotFound:
            user = auth.register_user(name, email, password, home)
        if role != "resident":
            scope = areas.get_area(area_slug) if area_slug else None
            auth.grant_role(user, role, scope)
    load_meetings(progress)


def accounts_text(password: str) -> str:
    """The demo accounts, one per role, as printed by `portal run`."""
    lines = [f"Demo accounts (password for all: {password}):"]
    for email, _name, role, area in DEMO_ACCOUNTS:
        scope = f" of {area}" if area else ""
        lines.append(f"  {role:<10} {email}{scope}")
    return "\n".join(lines)
