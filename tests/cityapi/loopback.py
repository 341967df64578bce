"""Small GeoReport servers on 127.0.0.1 that answer what a test's handler says."""

import json
import socket
import threading
import xml.etree.ElementTree as ET

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.cityapi.client import Open311Client

JSON = {"Content-Type": "application/json; charset=utf-8"}
XML = {"Content-Type": "text/xml; charset=utf-8"}


class Loopback:
    """A threaded werkzeug server; ``handler(request)`` returns (status, body, headers).

    :ivar seen: every request as (method, path, query args, form), in arrival order.
    """

    def __init__(self, handler):
        self.handler = handler
        self.seen: list[tuple[str, str, dict, dict]] = []

        @Request.application
        def app(request):
            self.seen.append(
                (
                    request.method,
                    request.path,
                    request.args.to_dict(),
                    request.form.to_dict(flat=False),
                )
            )
            status, body, headers = self.handler(request)
            return Response(body, status, headers=headers or JSON)

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v2"

    def client(self, **options) -> Open311Client:
        return Open311Client(self.endpoint, **options)

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


class Mute:
    """A listener that never answers (``drop=False``: the read times out) or closes
    every connection once the request has arrived (``drop=True``)."""

    def __init__(self, drop: bool):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thread = None
        if drop:
            self._thread = threading.Thread(target=self._drop_all, daemon=True)
            self._thread.start()

    def _drop_all(self):
        while True:
            try:
                connection, _address = self._listener.accept()
            except OSError:
                return  # closed by the test
            with connection:
                connection.recv(65536)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/v2"

    def close(self) -> None:
        # shutdown() wakes the accept() that close() alone would leave blocked.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        if self._thread:
            self._thread.join(timeout=10)


def as_xml(root: str, item: str, records: list[dict], namespace: str = "") -> bytes:
    """Records as GeoReport XML: ``<root><item><field>…``; None is an empty element,
    a dict a nested element, a list of dicts repeated children of its own tag."""
    ns = f"{{{namespace}}}" if namespace else ""

    def fill(element, record):
        for key, value in record.items():
            if isinstance(value, list):
                holder = ET.SubElement(element, ns + key)
                for child in value:
                    fill(ET.SubElement(holder, ns + key.rstrip("s")), child)
            elif isinstance(value, dict):
                fill(ET.SubElement(element, ns + key), value)
            else:
                child = ET.SubElement(element, ns + key)
                child.text = None if value is None else str(value)

    top = ET.Element(ns + root)
    for record in records:
        fill(ET.SubElement(top, ns + item), record)
    if namespace:
        ET.register_namespace("", namespace)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, "utf-8")


def body(fmt: str, records: list[dict], root="service_requests", item="request"):
    """Records in the client's format, with the matching Content-Type."""
    if fmt == "xml":
        return as_xml(root, item, records), XML
    return json.dumps(records).encode(), JSON
