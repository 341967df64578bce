"""Fixtures of the city client's tests: a loopback server that answers as told."""

import pytest

from tests.cityapi.loopback import JSON, Loopback


@pytest.fixture
def hostile():
    """``hostile(status, body, headers=JSON, **options)``: a client of a server that
    now answers every request so."""
    answers = {}
    server = Loopback(lambda request: answers["next"])

    def serve(status, body, headers=None, **options):
        answers["next"] = (status, body, headers or JSON)
        return server.client(**options)

    yield serve
    server.close()
