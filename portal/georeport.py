"""GeoReport v2 answers as a server writes them: JSON, or XML with the spec's names.

Used by the portal's own read-only endpoint and by the sandbox city; the client
(portal/cityapi) reads with its own tolerant parser and shares nothing with this.
"""

import re
import xml.etree.ElementTree as ET
from datetime import datetime

from flask import Response, json

# The element each list's items get in XML: <services><service/>…</services>.
LIST_ITEM = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def to_xml(root: str, payload) -> bytes:
    def fill(element, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                fill(ET.SubElement(element, key), inner)
        elif isinstance(value, list):
            for inner in value:
                fill(ET.SubElement(element, LIST_ITEM.get(element.tag, "item")), inner)
        elif value is not None:
            element.text = str(value).lower() if isinstance(value, bool) else str(value)

    element = ET.Element(root)
    fill(element, payload)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(element, "utf-8")


def answer(fmt: str, root: str, payload, status: int = 200) -> Response:
    """A GeoReport response in the format the URL's extension asked for."""
    if fmt == "xml":
        body = to_xml(root, payload)
        return Response(body, status, content_type="text/xml; charset=utf-8")
    body = json.dumps(payload)
    return Response(body, status, content_type="application/json; charset=utf-8")


def errors(fmt: str, status: int, pairs) -> Response:
    """The spec's error array: [{code, description}, …]."""
    payload = [{"code": code, "description": text} for code, text in pairs]
    return answer(fmt, "errors", payload, status)


def parse_date(value: str | None, name: str) -> datetime | None:
    """A W3C date parameter, which must carry its zone; None when absent or empty.

    A "+" in an unencoded query string arrives as a space: "…10:00:00 05:00".
    :raises ValueError: a message naming the parameter.
    """
    value = (value or "").strip()
    if not value:
        return None
    value = re.sub(r" (\d\d:?\d\d)$", r"+\1", value).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{name} is not a W3C date (like 2026-11-23T10:00:00-05:00)"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} needs a timezone (Z or ±HH:MM)")
    # Years 1 and 9999 overflow once converted to UTC; no request is that old or new.
    if not 1900 <= moment.year <= 2999:
        raise ValueError(f"{name} must lie between the years 1900 and 2999")
    return moment
