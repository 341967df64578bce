"""What the domains tell this package about their items, without it importing them:
the link of an item, and whether a person may still see it."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ItemType:
    # item id -> the page's path (called inside a request, so url_for works).
    link: Callable[[int], str] | None = None
    # (user, ids) -> the ids among them the user may see now; None: all of them.
    visible: Callable[[object, list[int]], set[int]] | None = None


_TYPES: dict[str, ItemType] = {}


def register_item_type(
    item_type: str,
    *,
    link: Callable[[int], str] | None = None,
    visible: Callable[[object, list[int]], set[int]] | None = None,
) -> None:
    """Say how to link an item type and who may still see its items.

    The higher package registers itself (at import, or in the app factory); this
    package never imports it. An item type nobody registered is linked by the
    notification's own ``url`` only and is visible to its recipient.

    :param link: ``link(item_id) -> path``; called while a page or an API answer is
        made, so ``url_for`` may be used.
    :param visible: ``visible(user, item_ids) -> set of the ids user may see``: one
        call per page for all the items of that type on it (make it one query).
    """
    _TYPES[item_type] = ItemType(link=link, visible=visible)


def link_for(item_type: str, item_id: int) -> str | None:
    entry = _TYPES.get(item_type)
    if entry is None or entry.link is None:
        return None
    return entry.link(item_id)


def checked_types() -> frozenset[str]:
    """The item types whose visibility is judged (the others are always visible)."""
    return frozenset(name for name, entry in _TYPES.items() if entry.visible)


def hidden_items(user, items: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
    """The (item_type, item_id) pairs among ``items`` ``user`` may no longer see."""
    by_type: dict[str, set[int]] = {}
    for item_type, item_id in items:
        by_type.setdefault(item_type, set()).add(item_id)
    hidden = set()
    for item_type, ids in by_type.items():
        entry = _TYPES.get(item_type)
        if entry is None or entry.visible is None:
            continue
        seen = entry.visible(user, sorted(ids))
        hidden.update((item_type, item_id) for item_id in ids - set(seen))
    return hidden
