"""The geocoding seam: the offline gazetteer, and a Nominatim-compatible service
(a real HTTP server on loopback standing in for one)."""

import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.geocode import GeocoderUnavailable, get_geocoder
from portal.geocode.gazetteer import Gazetteer
from portal.geocode.nominatim import NominatimGeocoder
from portal.map.services import distance


def test_house_numbers_are_interpolated_along_the_street(app):
    gazetteer = Gazetteer()
    [place] = gazetteer.search("1200 Frankford Avenue, Philadelphia")
    assert place.label == "1200 Frankford Ave"
    assert (place.lat, place.lon) == pytest.approx((39.9688, -75.1330))
    [lower] = gazetteer.search("1000 frankford ave")
    assert 150 < distance(place.lat, place.lon, lower.lat, lower.lon) < 400
    assert gazetteer.search("99999 Frankford Ave")[0].kind == "street"
    assert gazetteer.search("12 Imaginary Rd") == []
    assert gazetteer.search("") == []


def test_areas_are_found_by_name(app, make_area):
    make_area("Fishtown")
    [place] = gazetteer_search("fishtown")
    assert place.kind == "area" and place.label == "Fishtown"


def gazetteer_search(text):
    return Gazetteer().search(text)


def test_a_point_near_a_street_gets_its_address(app):
    place = Gazetteer().reverse(39.9689, -75.1331)
    assert place.label in {f"{n} Frankford Ave" for n in range(1180, 1221)}
    assert Gazetteer().reverse(39.80, -75.40) is None


class FakeNominatim:
    def __init__(self, answer):
        self.answer = answer
        self.seen = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.seen.append((request.path, dict(request.args), request.user_agent.string))
        status, body = self.answer
        return Response(body, status, mimetype="application/json")(
            environ, start_response
        )


@pytest.fixture
def nominatim():
    fake = FakeNominatim((200, "[]"))
    server = make_server("127.0.0.1", 0, fake, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}/"
    yield fake
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def test_a_nominatim_service_is_used_when_configured(make_app, nominatim):
    rows = [
        {"display_name": "1 Main St", "lat": "39.95", "lon": "-75.16"},
        {"display_name": "broken", "lat": "north"},
    ]
    nominatim.answer = (200, json.dumps(rows))
    app = make_app(GEOCODER_URL=nominatim.url)
    with app.app_context():
        geocoder = get_geocoder()
        assert isinstance(geocoder, NominatimGeocoder)
        [place] = geocoder.search("1 Main St")
        assert (place.label, place.lat, place.lon) == ("1 Main St", 39.95, -75.16)
        path, args, agent = nominatim.seen[0]
        assert path == "/search" and args["format"] == "jsonv2" and agent
        geocoder.client.close()


def test_an_unavailable_nominatim_is_a_typed_error(make_app, nominatim):
    nominatim.answer = (503, "busy")
    app = make_app(GEOCODER_URL=nominatim.url)
    with app.app_context():
        with pytest.raises(GeocoderUnavailable):
            get_geocoder().search("1 Main St")
        get_geocoder().client.close()
