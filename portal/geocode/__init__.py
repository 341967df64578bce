"""Geocoding behind one seam: typed text to places, and a point to an address.

The default is an offline gazetteer (the demo city's streets and the areas);
PORTAL_GEOCODER_URL switches to any Nominatim-compatible service.
"""

from dataclasses import dataclass

from flask import current_app


@dataclass(frozen=True)
class Place:
    label: str
    lat: float
    lon: float
    kind: str = "address"  # address | block | crossing | street | area


class GeocoderUnavailable(Exception):
    """The configured geocoding service did not answer."""


def get_geocoder():
    """The app's geocoder: ``search(text, limit)`` and ``reverse(lat, lon)``."""
    geocoder = current_app.extensions.get("portal.geocoder")
    if geocoder is None:
        url = current_app.config.get("GEOCODER_URL")
        if url:
            from portal.geocode.nominatim import NominatimGeocoder

            geocoder = NominatimGeocoder(
                url, timeout=current_app.config.get("GEOCODER_TIMEOUT", 5.0)
            )
        else:
            from portal.geocode.gazetteer import Gazetteer

            geocoder = Gazetteer()
        current_app.extensions["portal.geocoder"] = geocoder
    return geocoder
