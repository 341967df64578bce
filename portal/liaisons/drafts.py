"""Drafts from a meeting: each agenda or action item that names a problem and a
place becomes an editable draft ticket (service suggested, place geocoded).

Places are found in the words themselves: a house number and street ("1500 N 2nd
St"), a block ("the 1200 block of Girard Ave"), a crossing ("5th & Market", "Lehigh
Ave near 2nd St"), or a street after "on", "at", "along". The geocoder decides which
candidate is a real place; the problem is read from what is left of the item.
"""

import re
from dataclasses import dataclass

from portal.geocode import GeocoderUnavailable, Place, get_geocoder
from portal.tickets.filing import suggest_services

ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)]|\[[ xX]?\])\s+(.*\S)\s*$")
NUMBER = re.compile(r"\b(\d{1,5})\b")
CONNECTORS = re.compile(r"\s*(?:&|\+|/|\band\b|\bnear\b)\s*", re.IGNORECASE)
ANCHORS = re.compile(
    r"\b(?:on|at|along|by|behind|outside|near|in front of|across from|corner of)\s+",
    re.IGNORECASE,
)
# Words that end a place phrase: what follows is no longer a street's name.
STOP = set(
    """a an the in on at of by for from to with near behind outside since again
    is are was were be been has have had needs need needed still keeps keep getting
    it its this that these those there here and or but so out down up over under
    all every each some many more most very too also just now week weeks days day
    months month year years ago reported residents neighbors said asked say
    corner block across along""".split()
)
PROBLEM_CUT = re.compile(
    r"\s+(?:on|at|in|along|near|behind|outside|by|in front of|across from|"
    r"corner of|between)\s+.*$",
    re.IGNORECASE,
)
MAX_WINDOW = 4


@dataclass
class DraftSuggestion:
    text: str
    service_code: str | None
    place_text: str | None
    place: Place | None


def items_of(text: str) -> list[str]:
    """Agenda or minutes text as items: list entries, else non-empty lines."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    listed = [m.group(1) for m in (ITEM.match(line) for line in lines) if m]
    chosen = listed or [line.strip() for line in lines]
    return [" ".join(item.split())[:1000] for item in chosen]


def _words_after(words: list[str], start: int) -> list[str]:
    taken = []
    for word in words[start : start + MAX_WINDOW]:
        bare = word.strip(".,;:!?()\"'").lower()
        if not bare or bare in STOP:
            break
        taken.append(word.strip(",;:!?()\"'"))
        if word[-1:] in ",;:!?)":
            break
    return taken


def _words_before(words: list[str], end: int) -> list[str]:
    taken = []
    for word in reversed(words[max(0, end - MAX_WINDOW) : end]):
        bare = word.strip(".,;:!?()\"'").lower()
        if not bare or bare in STOP or word[-1:] in ",;:!?)":
            break
        taken.insert(0, word.strip(",;:!?()\"'"))
    return taken


def candidates(text: str) -> list[str]:
    """Place phrases in the item, most precise kinds first."""
    found: list[str] = []
    block = re.search(
        r"(\d{1,5})\s*(?:-|–)?\s*block\s+of\s+(?:the\s+)?", text, re.IGNORECASE
    )
    if block:
        rest = _words_after(text[block.end() :].split(), 0)
        if rest:
            found.append(f"{block.group(1)} block of {' '.join(rest)}")
    words = text.split()
    for index, word in enumerate(words):
        if NUMBER.fullmatch(word.strip(",.;:")) and index + 1 < len(words):
            rest = _words_after(words, index + 1)
            if rest and rest[0].lower() != "block":
                found.append(f"{word.strip(',.;:')} {' '.join(rest)}")
    for match in CONNECTORS.finditer(text):
        left = _words_before(
            text[: match.start()].split(), len(text[: match.start()].split())
        )
        right = _words_after(text[match.end() :].split(), 0)
        if left and right:
            found.append(f"{' '.join(left)} & {' '.join(right)}")
    for match in ANCHORS.finditer(text):
        rest = _words_after(text[match.end() :].split(), 0)
        if rest:
            found.append(" ".join(rest))
    return list(dict.fromkeys(found))


PRECISION = {"address": 0, "block": 0, "crossing": 0, "street": 1, "area": 2}


def find_place(text: str) -> tuple[str | None, Place | None]:
    """The most precise place the item names, and the words that named it."""
    best = None
    geocoder = get_geocoder()
    for phrase in candidates(text):
        try:
            places = geocoder.search(phrase, limit=1)
        except GeocoderUnavailable:
            return None, None
        if not places:
            continue
        rank = PRECISION.get(places[0].kind, 1)
        if best is None or rank < best[0]:
            best = (rank, phrase, places[0])
        if rank == 0:
            break
    if best is None or best[0] > 1:
        return None, None
    return best[1], best[2]


def problem_words(text: str, place_text: str | None) -> str:
    """The item without its place: "trash piled in the alley behind 5th & Market"
    reads as "trash piled"."""
    if place_text:
        text = text.replace(place_text, " ")
    return PROBLEM_CUT.sub("", text).strip() or text


def suggest(text: str) -> DraftSuggestion:
    place_text, place = find_place(text)
    services = suggest_services(problem_words(text, place_text), limit=1)
    code = services[0].code if services else None
    return DraftSuggestion(text, code, place_text, place)
