"""The offline geocoder: house numbers interpolated along the demo streets, and area
names. No network, so the demo and tests locate addresses anywhere."""

import math
import re

from slugify import slugify
from sqlalchemy import select

from portal.areas.models import Area
from portal.demo.streets import STREETS
from portal.extensions import db
from portal.geocode import Place, crossings

ADDRESS = re.compile(r"^\s*(\d{1,5})\s*[-–]?\s*(?:\d{1,5}\s+)?(.+?)\s*$")
WORDS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "north": "n",
    "south": "s", "east": "e", "west": "w", "second": "2nd", "philadelphia": "",
    "pa": "", "philly": "",
}  # fmt: skip
REVERSE_REACH = 250  # metres: farther from every street, no address is given


def _key(name: str) -> str:
    words = slugify(name, separator=" ").split()
    return " ".join(w for w in (WORDS.get(word, word) for word in words) if w)


_BY_KEY = {_key(name): name for name in STREETS}


def _streets_named(text: str) -> list[str]:
    """Every demo street the words may mean ("Broad": N Broad St and S Broad St)."""
    key = _key(text.split(",")[0])
    if key in _BY_KEY:
        return [_BY_KEY[key]]
    return [name for k, name in _BY_KEY.items() if key and f" {key} " in f" {k} "]


def _street_named(text: str) -> str | None:
    # "Market" for "Market St": a unique match only.
    matches = _streets_named(text)
    return matches[0] if len(matches) == 1 else None


def _interpolate(street: str, number: int) -> tuple[float, float] | None:
    points = STREETS[street]
    for (n0, lat0, lon0), (n1, lat1, lon1) in zip(points, points[1:], strict=False):
        if n0 <= number <= n1:
            share = (number - n0) / (n1 - n0)
            return lat0 + share * (lat1 - lat0), lon0 + share * (lon1 - lon0)
    return None


def _crossing(text: str) -> Place | None:
    """ "5th & Market", "Frankford and Girard": where two streets meet."""
    match = crossings.CROSSING.match(text)
    if not match:
        return None
    left, right = match.group(1), match.group(2)
    for numbered, named in ((left, right), (right, left)):
        number, street = crossings.ordinal(numbered), _street_named(named)
        if number is not None and street and crossings.runs_east_west(street):
            point = _interpolate(street, number * 100)
            suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
            if 10 <= number % 100 <= 20:
                suffix = "th"
            if point:
                return Place(f"{number}{suffix} St & {street}", *point, "crossing")
    # "Broad & Oregon": of N and S Broad St, the one that meets Oregon Ave.
    for first in _streets_named(left):
        for second in _streets_named(right):
            point = first != second and crossings.meeting_point(first, second)
            if point:
                return Place(f"{first} & {second}", *point, "crossing")
    return None


def _block(text: str) -> Place | None:
    """ "1200 block of Girard Ave": the middle of that block."""
    match = crossings.BLOCK.match(text)
    street = _street_named(match.group(2)) if match else None
    if not street:
        return None
    number = int(match.group(1)) // 100 * 100 + 50
    point = _interpolate(street, number)
    if point is None:
        return None
    return Place(f"{number - 50} block of {street}", *point, "block")


class Gazetteer:
    def search(self, text: str, limit: int = 5) -> list[Place]:
        text = (text or "").strip()
        if not text:
            return []
        place = _block(text) or _crossing(text)
        if place:
            return [place]
        found = []
        match = ADDRESS.match(text)
        if match:
            street = _street_named(match.group(2))
            number = int(match.group(1))
            point = _interpolate(street, number) if street else None
            if point:
                found.append(Place(f"{number} {street}", *point))
        if not found:
            street = _street_named(match.group(2) if match else text)
            if street:
                points = STREETS[street]
                _n, lat, lon = points[len(points) // 2]
                found.append(Place(street, lat, lon, "street"))
        wanted = slugify(text)
        for area in db.session.scalars(select(Area).order_by(Area.name)):
            if wanted and (area.slug == wanted or area.slug.startswith(wanted)):
                found.append(Place(area.name, area.label_lat, area.label_lon, "area"))
        return found[:limit]

    def reverse(self, lat: float, lon: float) -> Place | None:
        """The nearest street address, when a demo street passes within reach."""
        best = None
        kx = 111_195.0 * math.cos(math.radians(lat))
        for street, points in STREETS.items():
            for (n0, lat0, lon0), (n1, lat1, lon1) in zip(
                points, points[1:], strict=False
            ):
                ax, ay = (lon0 - lon) * kx, (lat0 - lat) * 111_195.0
                bx, by = (lon1 - lon) * kx, (lat1 - lat) * 111_195.0
                dx, dy = bx - ax, by - ay
                length = dx * dx + dy * dy
                share = max(0.0, min(1.0, -(ax * dx + ay * dy) / length))
                gap = math.hypot(ax + share * dx, ay + share * dy)
                if best is None or gap < best[0]:
                    best = (gap, street, round(n0 + share * (n1 - n0)))
        if best is None or best[0] > REVERSE_REACH:
            return None
        _gap, street, number = best
        return Place(f"{number} {street}", lat, lon)
