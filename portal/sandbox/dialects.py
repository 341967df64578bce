"""Real servers' deviations from GeoReport v2, switched on by SANDBOX_DIALECT."""

import html
import itertools
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from flask import Flask, Response, abort, current_app, json, request
from werkzeug.datastructures import MultiDict

from portal import georeport
from portal.sandbox import city
from portal.sandbox.catalog import BOSTON_DEPENDENCIES, BOSTON_NOTICE, SEECLICKFIX_CODES
from portal.sandbox.store import CityRequest

ALL: tuple[str, ...] = (
    "created_201",
    "error_object",
    "error_detail_list",
    "error_string",
    "error_html",
    "definition_404",
    "page_404",
    "page_cap",
    "requests_root",
    "namespaced_root",
    "empty_string_null",
    "offset_microseconds",
    "address_field",
    "hidden_until_published",
    "seeclickfix",
    "chicago_notes",
    "always_token",
    "random_ids",
    "numeric_ids",
    "capitalised_status",
    "bad_key_400",
    "informational",
    # Beyond the brief, from OPEN311.md's list of real-world deviations:
    "error_detail",  # errors as {"detail": "words"}
    "pending_records",  # Chicago: listed requests with neither id nor token
    "no_discovery",  # discovery.{fmt} answers a plain 404 page
    "no_definitions",  # every service metadata=false; definitions answer 404
    "no_tokens",  # batch services answer an id at once; tokens/ answers 404
    "ignore_attributes",  # attribute[...] neither checked nor stored
)
# Successive error answers take these shapes in turn when several are on.
ERROR_SHAPES = (
    "error_object",
    "error_detail_list",
    "error_detail",
    "error_string",
    "error_html",
)
NAMESPACE = "http://wiki.open311.org/GeoReport_v2"
PAGE_CAP = 500
SERVER_OFFSET = timezone(timedelta(hours=2))
FROM_NUMERIC = {str(number): code for code, number in SEECLICKFIX_CODES.items()}


def parse(value) -> frozenset[str]:
    """Dialect names from config: a list, or a comma-separated string (``all``: every
    one of :data:`ALL`).

    :raises ValueError: a name that is not in :data:`ALL` (a typo would otherwise
        leave the sandbox speaking plain GeoReport without a word).
    """
    if value is None:
        return frozenset()
    items = [value] if isinstance(value, str) else list(value)
    names = {
        name.strip() for item in items for name in str(item).split(",") if name.strip()
    }
    if "all" in names:
        names = (names - {"all"}) | set(ALL)
    unknown = sorted(names - set(ALL))
    if unknown:
        raise ValueError(
            f"unknown sandbox dialect {', '.join(unknown)}; known: {', '.join(ALL)}"
        )
    return frozenset(names)


class Dialects:
    """The dialects one sandbox speaks, and whose turn it is among its error shapes."""

    def __init__(self, names: Iterable[str] | str | None):
        self.names = parse(names)
        self.error_shapes = [shape for shape in ERROR_SHAPES if shape in self.names]
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def next_error_shape(self) -> str | None:
        if not self.error_shapes:
            return None
        with self._lock:
            turn = next(self._turn)
        return self.error_shapes[turn % len(self.error_shapes)]


def set_dialects(app: Flask, names: Iterable[str] | str | None) -> frozenset[str]:
    """Replace the dialects of a running sandbox (tests and benchmarks)."""
    app.extensions["sandbox_dialects"] = Dialects(names)
    return app.extensions["sandbox_dialects"].names


def current() -> Dialects:
    return current_app.extensions["sandbox_dialects"]


# --- answers -------------------------------------------------------------------


def answer(fmt: str, root: str, payload, status: int = 200) -> Response:
    """A GeoReport answer in the dialects' shape (nulls, XML roots)."""
    on = current()
    if fmt == "json" and "empty_string_null" in on:
        payload = _blank_nulls(payload)
    if fmt != "xml" or not on.names & {"requests_root", "namespaced_root"}:
        return georeport.answer(fmt, root, payload, status)
    name = "requests" if root == "service_requests" and "requests_root" in on else root
    space = f' xmlns="{NAMESPACE}"' if "namespaced_root" in on else ""
    body = georeport.to_xml(root, payload).decode()
    # The root is the first element opened and the last closed (or one empty tag).
    body = body.replace(f"<{root}", f"<{name}{space}", 1)
    head, closing, tail = body.rpartition(f"</{root}>")
    if closing:
        body = f"{head}</{name}>{tail}"
    return Response(body, status, content_type="text/xml; charset=utf-8")


def _blank_nulls(value):
    if value is None:
        return ""
    if isinstance(value, dict):
        return {key: _blank_nulls(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_blank_nulls(inner) for inner in value]
    return value


def refuse(fmt: str, refused: city.Refused) -> Response:
    """An error answer: the spec's array, or the next of the error_* shapes on."""
    shape = current().next_error_shape()
    status = refused.status
    words = [text for _code, text in refused.errors]
    if shape is None:
        payload = [{"code": code, "description": text} for code, text in refused.errors]
        return answer(fmt, "errors", payload, status)
    if shape == "error_html":
        title = html.escape(f"{status} {'; '.join(words)}")
        page = (
            f"<!DOCTYPE html><html><head><title>{title}</title></head>"
            f"<body><h1>{html.escape('; '.join(words))}</h1></body></html>"
        )
        return Response(page, status, content_type="text/html; charset=utf-8")
    # Servers that answer like this answer JSON whatever extension was asked for.
    body = {
        "error_object": {"code": status, "detail": "; ".join(words)},
        "error_detail_list": {"code": status, "detail": words},
        "error_detail": {"detail": "; ".join(words)},
        "error_string": "; ".join(words),
    }[shape]
    return Response(
        json.dumps(body), status, content_type="application/json; charset=utf-8"
    )


def _not_found(detail: str):
    """Abort with a Django REST framework 404, whatever the format."""
    abort(Response(json.dumps({"detail": detail}), 404, mimetype="application/json"))


def bad_key_status() -> int:
    return 400 if "bad_key_400" in current() else 403


def check_discovery() -> None:
    if "no_discovery" in current():
        abort(404)


def check_tokens() -> None:
    on = current()
    if "no_tokens" in on and "always_token" not in on:
        abort(404)


def check_page(rows: list, args) -> None:
    """page_404: a page past the last is 'Invalid page.' rather than an empty list."""
    if "page_404" in current() and not rows and int(args.get("page") or 1) > 1:
        _not_found("Invalid page.")


def page_cap() -> int | None:
    return PAGE_CAP if "page_cap" in current() else None


# --- services ------------------------------------------------------------------


def service_code_in(code: str) -> str:
    """The catalog's code for a code a client sent (numeric under seeclickfix)."""
    code = str(code).strip()
    return FROM_NUMERIC.get(code, code) if "seeclickfix" in current() else code


def service_code_out(code: str) -> str | int:
    return SEECLICKFIX_CODES.get(code, code) if "seeclickfix" in current() else code


def service_view(view: dict) -> dict:
    on = current()
    view = dict(view, service_code=service_code_out(view["service_code"]))
    if "no_definitions" in on:
        view["metadata"] = False
    if "seeclickfix" in on:
        view = {("organization" if k == "group" else k): v for k, v in view.items()}
    return view


def check_definition(metadata: bool) -> None:
    on = current()
    if "no_definitions" in on:
        abort(404)
    if "definition_404" in on and metadata:
        _not_found("Not found.")


def definition_view(view: dict) -> dict:
    code = view["service_code"]
    view = dict(view, service_code=service_code_out(code))
    if "informational" not in current() or not view["attributes"]:
        return view
    attributes = []
    for attribute in view["attributes"]:
        depends = BOSTON_DEPENDENCIES.get((code, attribute["code"]))
        attributes.append(
            dict(attribute, dependencies=depends) if depends else attribute
        )
    attributes.append(dict(BOSTON_NOTICE, order=len(attributes) + 1))
    return dict(view, attributes=attributes)


# --- taking a request ------------------------------------------------------------


def post_form(form, fmt: str) -> MultiDict:
    """The form as this server reads it; an address-only POST may crash it (500)."""
    on = current()
    form = MultiDict(form)
    if "seeclickfix" in on:
        form["service_code"] = service_code_in(form.get("service_code", ""))
    if "address_field" not in on:
        return form
    ignored = form.pop("address_string", "").strip()
    form["address_string"] = form.get("address", "").strip()
    located = form.get("lat", "").strip() or form["address_string"]
    if ignored and not (located or form.get("address_id")):
        _crash(fmt)
    return form


def _crash(fmt: str):
    """What a server that trips over an input it did not expect answers."""
    if fmt == "json":
        body = json.dumps({"error": "Internal Server Error"})
        abort(Response(body, 500, content_type="application/json"))
    page = (
        "<html><head><title>Server Error (500)</title></head>"
        "<body><h1>Server Error (500)</h1></body></html>"
    )
    abort(Response(page, 500, content_type="text/html"))


def create_options() -> dict:
    """city.create_request's keyword arguments for the dialects on."""
    on = current()
    tokens = "batch"
    if "always_token" in on:
        tokens = "always"
    elif "no_tokens" in on:
        tokens = "never"
    attributes = "check"
    if "ignore_attributes" in on:
        attributes = "ignore"
    elif on.names & {"definition_404", "no_definitions"}:
        attributes = "lenient"
    return {
        "tokens": tokens,
        "attributes": attributes,
        "hidden": "hidden_until_published" in on,
    }


def receipt(row: CityRequest) -> tuple[list, int]:
    """What a POST answers: the spec's receipt, or (created_201) the whole request."""
    if "created_201" in current():
        return [request_view(row)], 201
    if row.token:
        return [{"token": row.token}], 200
    return [
        {
            "service_request_id": request_id_out(row.public_id),
            "service_notice": "Thank you. The city will review this request.",
            "account_id": None,
        }
    ], 200


# --- showing requests ------------------------------------------------------------

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_SPACE = 36**8
# An affine scramble of the stored number: ids look random, yet every stored id has
# exactly one and it reads back without a table (seeded rows included).
_SCALE, _SHIFT = 1_234_567_891, 982_451_653
_UNSCALE = pow(_SCALE, -1, _SPACE)


def request_id_out(public_id: str | None) -> str | int | None:
    on = current()
    if public_id is None:
        return None
    if "random_ids" in on:
        number = (int(public_id) * _SCALE + _SHIFT) % _SPACE
        letters = ""
        for _ in range(8):
            number, digit = divmod(number, 36)
            letters = _ALPHABET[digit] + letters
        return letters
    return int(public_id) if "numeric_ids" in on else public_id


def request_id_in(value: str) -> str:
    """The stored id for an id a client sent ("-", which matches none, if none)."""
    value = value.strip()
    if "random_ids" not in current():
        return value
    if len(value) != 8 or any(ch not in _ALPHABET for ch in value):
        return "-"
    number = 0
    for ch in value:
        number = number * 36 + _ALPHABET.index(ch)
    return str((number - _SHIFT) * _UNSCALE % _SPACE)


def query_args(args) -> dict:
    """GET requests' parameters with the dialects' codes and ids read back."""
    args = dict(args.items())
    if args.get("service_request_id"):
        ids = args["service_request_id"].split(",")
        args["service_request_id"] = ",".join(request_id_in(i) for i in ids if i)
    if args.get("service_code"):
        codes = args["service_code"].split(",")
        args["service_code"] = ",".join(service_code_in(c) for c in codes if c)
    return args


def stamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if "offset_microseconds" in current():
        return moment.astimezone(SERVER_OFFSET).isoformat(timespec="microseconds")
    return moment.isoformat()


def request_view(row: CityRequest, listing: bool = False) -> dict:
    """city.public_view in the dialects on; listing: as GET requests.{fmt} lists it."""
    on = current()
    view = city.public_view(row)
    if listing and "pending_records" in on and view["service_request_id"] is None:
        view["token"] = None  # Chicago lists a request still processing as neither
    view["service_request_id"] = request_id_out(row.public_id)
    view["service_code"] = service_code_out(row.service_code)
    if "capitalised_status" in on:
        view["status"] = view["status"].capitalize()
    for key, moment in (
        ("requested_datetime", row.requested),
        ("updated_datetime", row.updated),
        ("expected_datetime", row.expected),
    ):
        view[key] = stamp(moment)
    if "chicago_notes" in on and request.args.get("extensions") == "true":
        view.update(_chicago_extensions(row))
    return view


def _chicago_extensions(row: CityRequest) -> dict:
    notes = [{"datetime": stamp(row.requested), "summary": "Request opened",
              "type": "opened"}]  # fmt: skip
    if row.status == "closed":
        summary = row.status_notes or "Request closed"
        notes.append({"datetime": stamp(row.updated), "summary": summary,
                      "type": "closed"})  # fmt: skip
    elif row.status_notes:
        notes.append({"datetime": stamp(row.updated), "summary": row.status_notes,
                      "type": "activity"})  # fmt: skip
    photos = [{"url": row.media_url}] if row.media_url else []
    extended = {"channel": row.channel, "duplicate": None,
                "parent_service_request_id": None, "photos": photos}  # fmt: skip
    return {"extended_attributes": extended, "notes": notes}
