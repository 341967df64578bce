"""JSON API v1: the city's services, by department, with their questions."""

import marshmallow as ma
from flask_smorest import Blueprint

from portal.tickets.filing import suggest_services
from portal.tickets.services import service_groups

blp = Blueprint("services_api", __name__, description="The city's services.")


class ServiceQuery(ma.Schema):
    suggest = ma.fields.String(
        validate=ma.validate.Length(max=4000),
        metadata={"description": "Text of a report: answer the likeliest services."},
    )


class ServiceSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    group = ma.fields.String()
    description = ma.fields.String()
    keywords = ma.fields.List(ma.fields.String())
    type = ma.fields.String()
    attributes = ma.fields.List(
        ma.fields.Dict(), metadata={"description": "GeoReport attribute definitions."}
    )


class ServiceList(ma.Schema):
    services = ma.fields.List(ma.fields.Nested(ServiceSchema))


@blp.get("")
@blp.arguments(ServiceQuery, location="query")
@blp.response(200, ServiceList)
def list_services(query):
    """Active services in department order, or the best matches for `suggest`."""
    if query.get("suggest"):
        return {"services": suggest_services(query["suggest"], limit=5)}
    return {
        "services": [
            service for _group, members in service_groups() for service in members
        ]
    }
