"""Tolerant reading of GeoReport v2 bodies (JSON or XML) into the typed values.

Real servers deviate (see OPEN311.md): numbers for ids, "" or empty elements for
null, capitalised statuses, naive or fractional dates, other XML roots, a POST
answering with a whole request. Anything unreadable raises ValueError, which the
client turns into CityUnavailable.
"""

import json
from datetime import datetime, tzinfo

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from portal.cityapi.types import (
    Attribute,
    AttributeValue,
    Discovery,
    Note,
    Service,
    ServiceDefinition,
    ServiceRequest,
    SubmitReceipt,
)

# Containers whose children are a list even when there is only one child.
LIST_TAGS = {
    "services", "service_requests", "requests", "errors", "attributes", "values",
    "endpoints", "formats", "notes", "photos", "keywords_list",
}  # fmt: skip
WRAPPERS = ("service_requests", "requests", "services", "errors", "service_definition")
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element_value(element):
    children = list(element)
    if element.get(XSI_NIL) == "true":
        return None
    if not children:
        text = (element.text or "").strip()
        return text if text else None
    tags = [_local(child.tag) for child in children]
    if _local(element.tag) in LIST_TAGS or (len(tags) > 1 and len(set(tags)) == 1):
        return [_element_value(child) for child in children]
    return {
        tag: _element_value(child) for tag, child in zip(tags, children, strict=True)
    }


def decode(body: bytes, fmt: str):
    """Bytes to plain Python, dropping the XML root as the spec's JSON mapping does."""
    if fmt == "xml":
        try:
            root = ElementTree.fromstring(body)
        except (ElementTree.ParseError, DefusedXmlException) as error:
            raise ValueError(f"unreadable XML: {error}") from None
        return _element_value(root)
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"unreadable JSON: {str(error)[:120]}") from None


def _unwrap(data):
    if isinstance(data, dict) and len(data) == 1:
        key = next(iter(data))
        if key in WRAPPERS:
            return data[key]
    return data


def as_list(data, what: str) -> list[dict]:
    data = _unwrap(data)
    if isinstance(data, dict):
        data = [data]  # one element where a list was due (XML, or a lax server)
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise ValueError(f"expected a list of {what}, got {type(data).__name__}")
    return data


def as_str(value) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def as_float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def as_int(value, default: int = 0) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def as_datetime(value, default_tz: tzinfo) -> datetime | None:
    """W3C/ISO 8601 to an aware datetime; a zone-less one is read in ``default_tz``."""
    text = as_str(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=default_tz)


def parse_services(data) -> list[Service]:
    services = []
    for item in as_list(data, "services"):
        code = as_str(item.get("service_code"))
        if not code:
            continue
        keywords = as_str(item.get("keywords")) or ""
        services.append(
            Service(
                code=code,
                name=as_str(item.get("service_name")) or code,
                description=as_str(item.get("description")) or "",
                metadata=as_bool(item.get("metadata")),
                type=(as_str(item.get("type")) or "realtime").lower(),
                keywords=tuple(k.strip() for k in keywords.split(",") if k.strip()),
                group=as_str(item.get("group"))
                or as_str(item.get("organization"))
                or "",
            )
        )
    return services


def parse_definition(data, service_code: str) -> ServiceDefinition:
    data = _unwrap(data)
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise ValueError("expected a service definition object")
    attributes = []
    for item in as_list(data.get("attributes"), "attributes"):
        code = as_str(item.get("code"))
        if not code:
            continue
        values = tuple(
            AttributeValue(
                key=as_str(v.get("key")) or "", name=as_str(v.get("name")) or ""
            )
            for v in as_list(item.get("values"), "values")
        )
        attributes.append(
            Attribute(
                code=code,
                datatype=(as_str(item.get("datatype")) or "string").lower(),
                description=as_str(item.get("description")) or "",
                variable=as_bool(item.get("variable", True)),
                required=as_bool(item.get("required")),
                datatype_description=as_str(item.get("datatype_description")) or "",
                order=as_int(item.get("order")),
                values=values,
            )
        )
    attributes.sort(key=lambda a: a.order)
    code = as_str(data.get("service_code")) or service_code
    return ServiceDefinition(service_code=code, attributes=tuple(attributes))


def parse_notes(data, default_tz: tzinfo) -> tuple[Note, ...]:
    """``extensions=true`` notes; Chicago writes summary, others description."""
    try:
        items = as_list(data, "notes")
    except ValueError:
        return ()  # extensions are a courtesy: a strange shape costs the notes only
    notes = (
        Note(
            datetime=as_datetime(item.get("datetime"), default_tz),
            summary=as_str(item.get("summary") or item.get("description")) or "",
            type=(as_str(item.get("type")) or "").lower(),
        )
        for item in items
    )
    return tuple(n for n in notes if n.datetime or n.summary)


def parse_request(item: dict, default_tz: tzinfo) -> ServiceRequest:
    return ServiceRequest(
        service_request_id=as_str(item.get("service_request_id")),
        token=as_str(item.get("token")),
        status=(as_str(item.get("status")) or "open").lower(),
        service_code=as_str(item.get("service_code")),
        service_name=as_str(item.get("service_name")),
        status_notes=as_str(item.get("status_notes")),
        description=as_str(item.get("description")),
        agency_responsible=as_str(item.get("agency_responsible")),
        service_notice=as_str(item.get("service_notice")),
        requested_datetime=as_datetime(item.get("requested_datetime"), default_tz),
        updated_datetime=as_datetime(item.get("updated_datetime"), default_tz),
        expected_datetime=as_datetime(item.get("expected_datetime"), default_tz),
        address=as_str(item.get("address")),
        address_id=as_str(item.get("address_id")),
        zipcode=as_str(item.get("zipcode")),
        lat=as_float(item.get("lat")),
        long=as_float(item.get("long")),
        media_url=as_str(item.get("media_url")),
        extended_attributes=item.get("extended_attributes") or {},
        notes=parse_notes(item.get("notes"), default_tz),
    )


def parse_requests(data, default_tz: tzinfo) -> list[ServiceRequest]:
    """Every request with an id or a token; records with neither (still processing) are
    skipped, as Chicago's documentation asks."""
    return parse_page(data, default_tz)[1]


def parse_page(data, default_tz: tzinfo) -> tuple[int, list[ServiceRequest]]:
    """A page of requests as (records the city sent, the requests kept).

    The pager needs the first: a page is full or short by what the city sent, not by
    what survived the skipping of records with neither id nor token.
    """
    items = as_list(data, "requests")
    parsed = (parse_request(item, default_tz) for item in items)
    return len(items), [r for r in parsed if r.service_request_id or r.token]


def parse_receipt(data) -> SubmitReceipt:
    items = as_list(data, "receipts")
    if not items:
        raise ValueError("the city answered the POST with no request")
    item = items[0]
    receipt = SubmitReceipt(
        service_request_id=as_str(item.get("service_request_id")),
        token=as_str(item.get("token")),
        service_notice=as_str(item.get("service_notice")),
        account_id=as_str(item.get("account_id")),
    )
    if not receipt.service_request_id and not receipt.token:
        raise ValueError("the city answered the POST with neither id nor token")
    return receipt


def parse_discovery(data) -> Discovery:
    data = _unwrap(data)
    if not isinstance(data, dict):
        raise ValueError("expected a discovery object")
    endpoints = data.get("endpoints") or []
    if isinstance(endpoints, dict):
        endpoints = endpoints.get("endpoint") or []
    if isinstance(endpoints, dict):
        endpoints = [endpoints]
    return Discovery(
        changeset=as_str(data.get("changeset")),
        contact=as_str(data.get("contact")),
        key_service=as_str(data.get("key_service")),
        endpoints=tuple(e for e in endpoints if isinstance(e, dict)),
    )
