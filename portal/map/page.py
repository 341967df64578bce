"""The map page's map, built with folium: only the map and its tiles, never tickets.

folium writes the Leaflet set-up script; the page includes it under the CSP nonce and
loads Leaflet from the portal's own static files. Tickets arrive from the API in the
browser, so the page weighs the same for a hundred tickets or a million.
"""

import json
from dataclasses import dataclass, replace
from functools import lru_cache

import folium
from flask import current_app


@dataclass(frozen=True)
class MapParts:
    name: str  # the JavaScript variable holding the L.Map
    html: str
    script: str


# Where the cached map is built; its centre in the script is swapped for the real one.
_SENTINEL = (12.5, 25.25)
_CENTER = "center: [{}, {}],"


def build_map(lat: float, lon: float, zoom: int) -> MapParts:
    """The map centred on (lat, lon): folium builds each zoom once per tile setting
    (5 ms a build, most of a page's time), and the centre is written in after."""
    config = current_app.config
    parts = _skeleton(zoom, config["TILES_URL"], config["TILES_ATTRIBUTION"])
    center = _CENTER.format(json.dumps(float(lat)), json.dumps(float(lon)))
    script = parts.script.replace(_CENTER.format(*_SENTINEL), center)
    return replace(parts, script=script)


@lru_cache(maxsize=64)
def _skeleton(zoom: int, tiles: str, attribution: str) -> MapParts:
    figure = folium.Map(
        location=_SENTINEL,
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        # The list beside the map carries the same tickets for keyboard and screen
        # reader users; the map itself stays out of the tab order.
        keyboard=False,
        max_zoom=19,
    )
    layer = folium.TileLayer(tiles=tiles, attr=attribution, max_zoom=19)
    layer.add_to(figure)
    root = figure.get_root()
    root.render()
    html, script = root.html.render(), root.script.render()
    # folium names its variables at random; fixed names keep a page the same in
    # every process, so its ETag is too.
    for element, name in ((figure, f"map_z{zoom}"), (layer, f"tiles_z{zoom}")):
        html = html.replace(element.get_name(), name)
        script = script.replace(element.get_name(), name)
    parts = MapParts(f"map_z{zoom}", html, script)
    if parts.script.count(_CENTER.format(*_SENTINEL)) != 1:
        # A folium that writes the centre otherwise: fail here, not on a wrong map.
        raise RuntimeError("folium's map script no longer has a centre to replace")
    return parts
