"""The map page's map, built with folium: only the map and its tiles, never tickets.

folium writes the Leaflet set-up script; the page includes it under the CSP nonce and
loads Leaflet from the portal's own static files. Tickets arrive from the API in the
browser, so the page weighs the same for a hundred tickets or a million.
"""

from dataclasses import dataclass

import folium
from flask import current_app


@dataclass(frozen=True)
class MapParts:
    name: str  # the JavaScript variable holding the L.Map
    html: str
    script: str


def build_map(lat: float, lon: float, zoom: int) -> MapParts:
    config = current_app.config
    figure = folium.Map(
        location=(lat, lon),
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        # The list beside the map carries the same tickets for keyboard and screen
        # reader users; the map itself stays out of the tab order.
        keyboard=False,
        max_zoom=19,
    )
    folium.TileLayer(
        tiles=config["TILES_URL"], attr=config["TILES_ATTRIBUTION"], max_zoom=19
    ).add_to(figure)
    root = figure.get_root()
    root.render()
    return MapParts(figure.get_name(), root.html.render(), root.script.render())
