"""Demo neighborhoods: real names, approximate centers, tessellated in a city outline.

The centers and the outline are hand-approximated for the demo, not surveyed boundaries;
deployments load real ones with `portal areas import`.
"""

from shapely import MultiPoint, Point, Polygon, voronoi_polygons

# (name, latitude, longitude) — approximate centers, good to a few hundred meters.
NEIGHBORHOODS = [
    ("Old City", 39.9525, -75.1440),
    ("Society Hill", 39.9440, -75.1480),
    ("Rittenhouse", 39.9490, -75.1720),
    ("Chinatown", 39.9560, -75.1560),
    ("Fairmount", 39.9680, -75.1750),
    ("Northern Liberties", 39.9650, -75.1410),
    ("Fishtown", 39.9730, -75.1290),
    ("Kensington", 39.9900, -75.1260),
    ("Port Richmond", 39.9850, -75.1030),
    ("Bridesburg", 40.0010, -75.0690),
    ("Frankford", 40.0220, -75.0840),
    ("Mayfair", 40.0360, -75.0520),
    ("Holmesburg", 40.0450, -75.0250),
    ("Fox Chase", 40.0800, -75.0840),
    ("Somerton", 40.1150, -75.0150),
    ("Olney", 40.0350, -75.1220),
    ("Hunting Park", 40.0140, -75.1410),
    ("Germantown", 40.0370, -75.1730),
    ("Chestnut Hill", 40.0730, -75.2080),
    ("Roxborough", 40.0460, -75.2260),
    ("Manayunk", 40.0260, -75.2240),
    ("East Falls", 40.0110, -75.1900),
    ("Strawberry Mansion", 39.9900, -75.1800),
    ("Brewerytown", 39.9780, -75.1830),
    ("Overbrook", 39.9820, -75.2420),
    ("University City", 39.9520, -75.1930),
    ("Cobbs Creek", 39.9500, -75.2430),
    ("Kingsessing", 39.9360, -75.2220),
    ("Point Breeze", 39.9330, -75.1800),
    ("Passyunk Square", 39.9310, -75.1620),
    ("Pennsport", 39.9290, -75.1480),
    ("Girard Estates", 39.9200, -75.1770),
    ("Eastwick", 39.9000, -75.2400),
]

# A rough outline of the city, (longitude, latitude), clockwise from the southwest.
CITY_OUTLINE = [
    (-75.2750, 39.8800),
    (-75.2620, 39.9420),
    (-75.2800, 39.9780),
    (-75.2650, 40.0550),
    (-75.2350, 40.0720),
    (-75.2100, 40.0950),
    (-75.1750, 40.0750),
    (-75.1100, 40.0800),
    (-75.0600, 40.1300),
    (-75.0150, 40.1370),
    (-74.9560, 40.0850),
    (-74.9700, 40.0500),
    (-75.0200, 40.0200),
    (-75.0600, 39.9950),
    (-75.1000, 39.9800),
    (-75.1320, 39.9650),
    (-75.1330, 39.9300),
    (-75.1350, 39.8830),
    (-75.2100, 39.8700),
]


def demo_areas() -> list[tuple[str, Polygon]]:
    """One polygon per neighborhood: its Voronoi cell clipped to the city outline."""
    outline = Polygon(CITY_OUTLINE)
    centers = [Point(lon, lat) for _name, lat, lon in NEIGHBORHOODS]
    cells = voronoi_polygons(MultiPoint(centers), extend_to=outline.buffer(0.05))
    result = []
    for (name, _lat, _lon), center in zip(NEIGHBORHOODS, centers, strict=True):
        cell = next(c for c in cells.geoms if c.covers(center))
        result.append((name, cell.intersection(outline)))
    return result
