"""The home page: near me, or pick your neighborhood."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from portal.areas import services as areas

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    home_area = current_user.home_area if current_user.is_authenticated else None
    return render_template(
        "home/index.html", areas=areas.list_areas(), home_area=home_area
    )


@bp.get("/go")
def go():
    """The no-JavaScript fallback of the area picker."""
    slug = request.args.get("area", "")
    if not slug:
        return redirect(url_for("home.index"))
    return redirect(url_for("areas.show", slug=areas.get_area(slug).slug))
