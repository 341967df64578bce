"""Liaison tests: the demo neighborhoods, the sandbox city's services over loopback,
and a liaison for a few areas."""

import json
import math
import random

import pytest
from shapely.geometry import Point
from shapely.geometry import shape as geometry
from sqlalchemy import select

from portal.areas.models import Area
from portal.areas.services import save_areas
from portal.cityapi import get_city_api
from portal.demo.geography import demo_areas
from portal.extensions import db
from portal.tickets.city_services import refresh_services
from tests.tickets.conftest import api, app_overrides  # noqa: F401

LIAISON_AREAS = ("fishtown", "kensington", "northern-liberties")


@pytest.fixture
def city(app, sandbox_server):
    save_areas(demo_areas())
    refresh_services(get_city_api())
    return sandbox_server


def area(slug: str) -> Area:
    return db.session.scalar(select(Area).where(Area.slug == slug))


@pytest.fixture
def liaison(city, make_user):
    """A liaison of Fishtown, Kensington and Northern Liberties."""
    from portal.auth.services import grant_role

    user = make_user(
        "liaison", area(LIAISON_AREAS[0]), "liaison@example.org", name="Lia"
    )
    for slug in LIAISON_AREAS[1:]:
        grant_role(user, "liaison", area(slug))
    return user


def points_in(slug: str, count: int, seed: int = 1) -> list[tuple[float, float]]:
    """Random (lat, lon) inside an area, for rows that must land there."""
    shape = geometry(json.loads(area(slug).geometry))
    west, south, east, north = shape.bounds
    rng, found = random.Random(seed), []
    while len(found) < count:
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if shape.contains(Point(lon, lat)):
            found.append((round(lat, 6), round(lon, 6)))
    return found


def grid_points(count: int, spacing: float = 60.0) -> list[tuple[float, float]]:
    """Points at least ``spacing`` metres apart in the liaison's areas: rows that
    are no duplicates of each other."""
    shapes = [geometry(json.loads(area(slug).geometry)) for slug in LIAISON_AREAS]
    west = min(s.bounds[0] for s in shapes)
    south = min(s.bounds[1] for s in shapes)
    east = max(s.bounds[2] for s in shapes)
    north = max(s.bounds[3] for s in shapes)
    step_lat = spacing / 111_195.0
    step_lon = step_lat / math.cos(math.radians((south + north) / 2))
    found = []
    lat = south + step_lat / 2
    while lat < north and len(found) < count:
        lon = west + step_lon / 2
        while lon < east and len(found) < count:
            if any(s.contains(Point(lon, lat)) for s in shapes):
                found.append((round(lat, 6), round(lon, 6)))
            lon += step_lon
        lat += step_lat
    assert len(found) == count, f"only {len(found)} points fit"
    return found
