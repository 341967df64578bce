"""A geocoder speaking the Nominatim API (search and reverse, jsonv2)."""

import httpx

from portal.geocode import GeocoderUnavailable, Place


class NominatimGeocoder:
    def __init__(self, url: str, timeout: float = 5.0, transport=None):
        self.client = httpx.Client(
            base_url=url.rstrip("/") + "/",
            timeout=timeout,
            transport=transport,
            # Nominatim's usage policy asks every application to name itself.
            headers={
                "User-Agent": "NeighborhoodPortal/0.1",
                "Accept": "application/json",
            },
        )

    def _get(self, path: str, params: dict):
        try:
            answer = self.client.get(path, params={**params, "format": "jsonv2"})
            answer.raise_for_status()
            return answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise GeocoderUnavailable(str(error)) from error

    def search(self, text: str, limit: int = 5) -> list[Place]:
        rows = self._get("search", {"q": text, "limit": limit})
        places = []
        for row in rows if isinstance(rows, list) else []:
            try:
                places.append(
                    Place(
                        str(row["display_name"]), float(row["lat"]), float(row["lon"])
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue  # a malformed row is skipped, not trusted
        return places[:limit]

    def reverse(self, lat: float, lon: float) -> Place | None:
        row = self._get("reverse", {"lat": lat, "lon": lon})
        if not isinstance(row, dict) or "display_name" not in row:
            return None
        return Place(str(row["display_name"]), lat, lon)
