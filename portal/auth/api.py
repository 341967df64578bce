"""JSON API v1 for the signed-in account."""

import marshmallow as ma
from flask_login import current_user, login_required
from flask_smorest import Blueprint

from portal.apiv1 import SECURITY, Id, Text
from portal.auth import services

blp = Blueprint("me_api", __name__, description="The signed-in account.")


class RoleSchema(ma.Schema):
    role = ma.fields.String()
    area = ma.fields.String(
        allow_none=True, metadata={"description": "Area slug, if scoped."}
    )


class MeSchema(ma.Schema):
    id = Id()
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


class TokenIn(ma.Schema):
    name = Text(
        required=True,
        validate=ma.validate.Length(min=1, max=80),
        metadata={"description": "What the token is for."},
    )


class TokenOut(ma.Schema):
    id = Id()
    name = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "The token's first characters."})
    created_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(allow_none=True)


class NewTokenOut(TokenOut):
    token = ma.fields.String(metadata={"description": "The secret; shown only once."})


@blp.get("/tokens")
@blp.response(200, TokenOut(many=True))
@blp.doc(security=SECURITY)
@login_required
def list_tokens():
    """The account's live API tokens (never their secrets)."""
    return services.list_tokens(current_user)


@blp.post("/tokens")
@blp.arguments(TokenIn)
@blp.response(201, NewTokenOut)
@blp.alt_response(422, response="DEFAULT_ERROR", description="Invalid field.")
@blp.doc(security=SECURITY)
@login_required
def create_token(body):
    """Issue a new token; the response is the only time its secret is shown."""
    token, secret = services.create_token(current_user, body["name"])
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": None,
        "token": secret,
    }


@blp.delete("/tokens/<int:token_id>")
@blp.response(204)
@blp.alt_response(404, response="DEFAULT_ERROR", description="No such live token.")
@blp.doc(security=SECURITY)
@login_required
def revoke_token(token_id):
    """Revoke a token: requests carrying it are refused from now on."""
    services.revoke_token(current_user, token_id)
