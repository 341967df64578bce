"""JSON API v1 for the signed-in account."""

import marshmallow as ma
from flask_login import current_user, login_required
from flask_smorest import Blueprint

from portal.apiv1 import SECURITY

blp = Blueprint("me_api", __name__, description="The signed-in account.")


class RoleSchema(ma.Schema):
    role = ma.fields.String()
    area = ma.fields.String(
        allow_none=True, metadata={"description": "Area slug, if scoped."}
    )


class MeSchema(ma.Schema):
    id = ma.fields.Integer()
    display_name = ma.fields.String()
    email = ma.fields.String()
    home_area = ma.fields.String(allow_none=True)
    roles = ma.fields.List(ma.fields.Nested(RoleSchema))


@blp.get("")
@blp.response(200, MeSchema)
@blp.alt_response(401, response="DEFAULT_ERROR", description="Not signed in.")
@blp.doc(security=SECURITY)
@login_required
def me():
    """Who the session or token belongs to, and their roles."""
    grants = [{"role": "resident", "area": None}] + [
        {"role": g.role, "area": g.area.slug if g.area else None}
        for g in current_user.grants
    ]
    return {
        "id": current_user.id,
        "display_name": current_user.display_name,
        "email": current_user.email,
        "home_area": current_user.home_area.slug if current_user.home_area else None,
        "roles": grants,
    }
