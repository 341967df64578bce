"""The city's service list and each service's questions, as last fetched."""

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from portal.cityapi.errors import CityAPIError, CityRejected
from portal.cityapi.types import Service, ServiceDefinition
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.tickets.models import CityService

log = logging.getLogger(__name__)


@dataclass
class ServicesReport:
    count: int = 0
    with_questions: int = 0
    # code -> the city's reason its definition could not be read
    unreadable: dict[str, str] = field(default_factory=dict)


def refresh_services(api, progress=None, budget=None) -> ServicesReport:
    """Fetch the city's services and their definitions and store them.

    A definition that cannot be read never stops the others: the service stays usable
    (without questions when the city says there are none to read, with the questions it
    had when the city is only unavailable), and the reason is kept for admins.
    :raises CityAPIError: the service list itself could not be read.
    """
    services = api.list_services()
    definitions, unreadable, absent = {}, {}, set()
    for service in services:
        if service.metadata:
            if budget is not None and budget.spent():
                unreadable[service.code] = "not read: the refresh ran out of time"
            else:
                try:
                    definitions[service.code] = api.get_service_definition(service.code)
                except CityAPIError as error:
                    unreadable[service.code] = error.reason
                    if isinstance(error, CityRejected):
                        absent.add(service.code)  # it is not there to be read
                    log.warning(
                        "the city's definition of service %s cannot be read: %s",
                        service.code,
                        error.reason,
                    )
        if progress:
            progress(1)
    count = save_services(services, definitions, unreadable, absent)
    return ServicesReport(count, len(definitions), unreadable)


def save_services(
    services: list[Service],
    definitions: dict[str, ServiceDefinition],
    unreadable: dict[str, str] | None = None,
    absent: set[str] = frozenset(),
):
    """Replace the stored service list; services the city dropped become inactive.

    :param unreadable: why a definition could not be read, by service code.
    :param absent: of those, the ones the city says are not there (no questions).
    """
    unreadable = unreadable or {}
    seen = set()
    for service in services:
        row = db.session.get(CityService, service.code) or CityService(
            code=service.code
        )
        row.name, row.group, row.description = (
            service.name,
            service.group,
            service.description,
        )
        row.keywords, row.type, row.metadata_ = (
            list(service.keywords),
            service.type,
            service.metadata,
        )
        definition = definitions.get(service.code)
        if definition is not None:
            row.attributes = [_attribute(a) for a in definition.attributes]
        elif service.code not in unreadable or service.code in absent:
            row.attributes = []
        # else: the city was unavailable; the questions it gave before still hold
        row.definition_error = unreadable.get(service.code)
        row.active, row.fetched_at = True, utcnow()
        db.session.add(row)
        seen.add(service.code)
    for row in db.session.scalars(select(CityService)):
        if row.code not in seen:
            row.active = False
    db.session.commit()
    return len(seen)


def _attribute(attribute) -> dict:
    return {
        "code": attribute.code,
        "datatype": attribute.datatype,
        "description": attribute.description,
        "variable": attribute.variable,
        "required": attribute.required,
        "order": attribute.order,
        "values": [{"key": v.key, "name": v.name} for v in attribute.values],
    }
