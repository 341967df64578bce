"""Plausible open and closed requests spread over the demo neighborhoods."""

import random
from collections.abc import Callable
from datetime import timedelta

from shapely import Point
from shapely.prepared import prep

from portal.demo.geography import demo_areas
from portal.sandbox.catalog import AGENCY, SERVICES
from portal.sandbox.city import CLOSING_NOTES, PROGRESS_NOTES, STREETS, now
from portal.sandbox.store import CityRequest, Store

PHRASES = {
    "SBX-SD": ["Deep pothole in the travel lane", "Sinkhole opening near the curb"],
    "SBX-SLO": ["Street light out for a week", "Light flickers all night"],
    "SBX-DUMP": [
        "Tires and a mattress dumped in the alley",
        "Bags of trash piled on lot",
    ],
    "SBX-GR": ["Graffiti on the side wall", "Tags on the mailbox and door"],
    "SBX-RUB": ["Trash not picked up on our block", "Recycling missed again"],
    "SBX-VLC": ["Lot overgrown with weeds and litter", "Vacant lot full of debris"],
}


def _random_point(rng: random.Random, polygon, prepared):
    west, south, east, north = polygon.bounds
    while True:
        point = Point(rng.uniform(west, east), rng.uniform(south, north))
        if prepared.contains(point):
            return point


def seed(
    store: Store,
    count: int,
    rng: random.Random | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Add ``count`` requests from the last 120 days; about a third still open."""
    rng = rng or random.Random(311)
    areas = [(polygon, prep(polygon)) for _name, polygon in demo_areas()]
    weights = [5 if code in PHRASES else 1 for code, *_ in SERVICES]
    moment = now()
    rows = []
    for index in range(count):
        polygon, prepared = rng.choice(areas)
        point = _random_point(rng, polygon, prepared)
        service = rng.choices(SERVICES, weights)[0]
        requested = moment - timedelta(minutes=rng.randint(60, 120 * 24 * 60))
        closed = rng.random() < 0.65
        updated = min(moment, requested + timedelta(hours=rng.randint(1, 24 * 20)))
        rows.append(
            CityRequest(
                public_id=None,
                service_code=service[0],
                status="closed" if closed else "open",
                status_notes=rng.choice(CLOSING_NOTES if closed else PROGRESS_NOTES),
                description=rng.choice(PHRASES.get(service[0], [service[5]])),
                agency=AGENCY.get(service[2]),
                requested=requested,
                updated=updated,
                expected=None
                if closed
                else updated + timedelta(days=rng.randint(2, 40)),
                address=f"{rng.randint(100, 7999)} {rng.choice(STREETS)}",
                lat=round(point.y, 6),
                long=round(point.x, 6),
                attributes={},
                contact={},
                channel=rng.choice(["phone", "web", "mobile", "open311"]),
            )
        )
        if progress and index % 500 == 499:
            progress(500)
    with store.write_lock, store.session() as session:
        session.add_all(rows)
        session.flush()
        for row in rows:
            row.public_id = str(100_000 + row.id)
        session.commit()
    return len(rows)
