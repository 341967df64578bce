"""Places named as a crossing ("5th & Market", "Frankford and Girard") or as a block
("1200 block of Girard Ave"), on the gazetteer's demo streets.

Philadelphia numbers east-west streets from Front St westwards, 100 to a block, so
"5th & Market" is where Market St has number 500; two named streets meet where
their centre lines cross.
"""

import re

from shapely.geometry import LineString
from shapely.ops import nearest_points

from portal.demo.streets import STREETS

CROSSING = re.compile(
    r"^\s*(?:the\s+)?(?:corner\s+of\s+)?(.+?)\s*(?:&|\+|/|\band\b|\bat\b|\bnear\b)"
    r"\s*(.+?)\s*$",
    re.IGNORECASE,
)
BLOCK = re.compile(
    r"^\s*(?:the\s+)?(\d{1,5})\s*(?:-|–)?\s*block\s+of\s+(?:the\s+)?(.+?)\s*$",
    re.IGNORECASE,
)
ORDINAL = re.compile(
    r"^(?:[nsew]\.?\s+)?(\d{1,2})(?:st|nd|rd|th)(?:\s+(?:st|street)\.?)?$",
    re.IGNORECASE,
)
NEAR_ENOUGH = 0.0012  # degrees (about 100 m): streets this close are taken to meet


def runs_east_west(street: str) -> bool:
    points = STREETS[street]
    (_n0, lat0, lon0), (_n1, lat1, lon1) = points[0], points[-1]
    return abs(lon1 - lon0) > abs(lat1 - lat0)


def _line(street: str) -> LineString:
    return LineString([(lon, lat) for _n, lat, lon in STREETS[street]])


def meeting_point(first: str, second: str) -> tuple[float, float] | None:
    """Where two named streets cross (or nearly touch), as (lat, lon)."""
    a, b = _line(first), _line(second)
    crossing = a.intersection(b)
    if not crossing.is_empty:
        point = crossing.representative_point()
        return point.y, point.x
    near_a, near_b = nearest_points(a, b)
    if near_a.distance(near_b) > NEAR_ENOUGH:
        return None
    return (near_a.y + near_b.y) / 2, (near_a.x + near_b.x) / 2


def ordinal(text: str) -> int | None:
    """5 for "5th", "N 5th St", "5th Street"; None otherwise."""
    match = ORDINAL.match(text.strip())
    return int(match.group(1)) if match else None
