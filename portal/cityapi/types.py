"""Frozen values the city client returns and takes: ids are strings, dates aware."""

from dataclasses import dataclass, field
from datetime import datetime

DATATYPES = (
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
)


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str = ""
    metadata: bool = False
    type: str = "realtime"  # realtime | batch | blackbox
    keywords: tuple[str, ...] = ()
    group: str = ""


@dataclass(frozen=True)
class AttributeValue:
    key: str
    name: str


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    description: str = ""
    variable: bool = True
    required: bool = False
    datatype_description: str = ""
    order: int = 0
    values: tuple[AttributeValue, ...] = ()


@dataclass(frozen=True)
class ServiceDefinition:
    service_code: str
    attributes: tuple[Attribute, ...] = ()


@dataclass(frozen=True)
class NewServiceRequest:
    service_code: str
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    media_url: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    # code -> value, or a list of values for a multivaluelist
    attributes: dict[str, str | list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmitReceipt:
    """What a POST answered: an id, or a token to resolve later (never both)."""

    service_request_id: str | None = None
    token: str | None = None
    service_notice: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class Note:
    """One entry of a request's history (``extensions=true``: Chicago, Boston, SF)."""

    datetime: datetime | None
    summary: str = ""
    type: str = ""  # lower case: opened, closed, activity, follow_on_created, ...


@dataclass(frozen=True)
class ServiceRequest:
    service_request_id: str | None
    status: str  # lower case: open, closed, or an extended status
    service_code: str | None = None
    service_name: str | None = None
    status_notes: str | None = None
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    requested_datetime: datetime | None = None
    updated_datetime: datetime | None = None
    expected_datetime: datetime | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None
    token: str | None = None
    extended_attributes: dict = field(default_factory=dict, compare=False)
    notes: tuple[Note, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Discovery:
    changeset: str | None
    contact: str | None
    key_service: str | None
    endpoints: tuple[dict, ...] = ()
