"""Who hears of a ticket's changes (portal.notifications), told in the transaction
of the change: followers of its status and the city's notes, its filer of what
became of the submission, the watchers of its place of a new ticket."""

from flask import url_for
from sqlalchemy import event as orm_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.notifications.registry import register_item_type
from portal.notifications.services import Notice, notify_all
from portal.notifications.watches import Place, watchers_of_places
from portal.tickets.models import Ticket, TicketEvent, TicketFollow

# The history lines someone is told of; retries and the like are the sender's own.
TOLD = frozenset({"status", "sent", "rejected", "held"})
# session.info: what this transaction did, told at its commit once ids exist, in
# one pass (a sync page's followers, a batch's watchers: one query each).
TOLD_KEY, NEW_KEY = "tickets.told", "tickets.new"
CHUNK = 500

# Tickets are public: linked, and never hidden from anyone.
register_item_type("ticket", link=lambda id_: url_for("tickets.show", ticket_id=id_))


def recorded(ticket: Ticket, event: TicketEvent) -> None:
    """A history line was added (services.record): its readers hear at the commit."""
    if event.kind in TOLD:
        # The change's identity now: a later update in the same transaction moves it.
        moment = ticket.city_updated_at
        change = moment.isoformat() if moment else None
        db.session.info.setdefault(TOLD_KEY, []).append((ticket, event, change))


def announce_new(ticket: Ticket) -> None:
    """A ticket new here: at the commit its filer follows it, and whoever watches its
    area or a circle around it is told."""
    db.session.info.setdefault(NEW_KEY, []).append(ticket)


@orm_event.listens_for(Session, "before_commit")
def _tell_at_commit(session) -> None:
    told, new = session.info.pop(TOLD_KEY, None), session.info.pop(NEW_KEY, None)
    if not (told or new):
        return
    session.flush()  # ids for new tickets and history lines
    notify_all(_new_ticket_notices(new or []) + _change_notices(told or []))


@orm_event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop(TOLD_KEY, None)
    session.info.pop(NEW_KEY, None)


def _about(ticket: Ticket) -> dict:
    return {
        "title": ticket.service_name or ticket.service_code,
        "address": ticket.address,
    }


def _new_ticket_notices(tickets: list[Ticket]) -> list[Notice]:
    places = [Place(t.id, t.lat, t.lon, t.area_id) for t in tickets]
    heard = watchers_of_places(places) if places else {}
    notices = []
    for ticket in tickets:
        if ticket.filed_by_id is not None:  # filers follow what they file
            db.session.add(
                TicketFollow(ticket_id=ticket.id, user_id=ticket.filed_by_id)
            )
        values = {**_about(ticket), "area": ticket.area.name if ticket.area else None}
        # The filer is the actor: told nothing of their own ticket.
        notices.append(
            Notice(
                "new_ticket_in_place",
                ("ticket", ticket.id),
                heard[ticket.id],
                actor=ticket.filed_by_id,
                values=values,
            )
        )
    return notices


def _followers(ticket_ids: set[int]) -> dict[int, set[int]]:
    ids, found = sorted(ticket_ids), {}
    for start in range(0, len(ids), CHUNK):
        rows = db.session.execute(
            select(TicketFollow.ticket_id, TicketFollow.user_id).where(
                TicketFollow.ticket_id.in_(ids[start : start + CHUNK])
            )
        )
        for ticket_id, user_id in rows:
            found.setdefault(ticket_id, set()).add(user_id)
    return found


def _change_notices(told: list) -> list[Notice]:
    followers = _followers({t.id for t, event, _c in told if event.kind == "status"})
    notices = []
    for ticket, event, change in told:
        item, about = ("ticket", ticket.id), _about(ticket)
        # A batch's filer hears of the whole batch once (liaisons), not per row.
        filer = [ticket.filed_by_id] if ticket.filed_by_id else []
        if ticket.channel == "batch":
            filer = []
        if event.kind == "status":
            if event.old_status is None:
                continue  # new here: the watchers of its place hear of it
            moved = event.old_status != event.new_status
            values = {**about, "status": event.new_status, "note": event.notes}
            # The city's updated_datetime names its change: pushed, pulled or both,
            # each follower hears of it once.
            notices.append(
                Notice(
                    "ticket_status" if moved else "ticket_note",
                    item,
                    followers.get(ticket.id, ()),
                    values=values,
                    change=change or f"event-{event.id}",
                )
            )
        elif event.kind == "sent" and ticket.city_id:
            # Sent, found at the city, or a token resolved: one city id, one notice.
            values = {**about, "city_id": ticket.city_id}
            notices.append(
                Notice("ticket_sent", item, filer, values=values, change=ticket.city_id)
            )
        elif event.kind in ("rejected", "held"):
            notices.append(
                Notice(
                    f"ticket_{event.kind}",
                    item,
                    filer,
                    values={**about, "reason": event.notes},
                    change=f"event-{event.id}",
                )
            )
    return notices
