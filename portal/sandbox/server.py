"""The sandbox city's GeoReport v2 server: a small Flask app of its own."""

import os
import socket
import time

from flask import Flask, Response, abort, current_app, request

from portal.sandbox import city, dialects
from portal.sandbox.catalog import SERVICES, by_code
from portal.sandbox.dialects import answer, set_dialects
from portal.sandbox.faults import FaultPlan
from portal.sandbox.store import Store


def _service_view(entry) -> dict:
    code, name, department, kind, keywords, description, attributes = entry
    return {"service_code": code, "service_name": name, "description": description,
            "metadata": bool(attributes), "type": kind, "keywords": keywords,
            "group": department}  # fmt: skip


def _definition_view(entry) -> dict:
    attributes = []
    for order, (code, datatype, question, required, values) in enumerate(entry[6], 1):
        attributes.append({
            "variable": datatype != "informational", "code": code, "datatype": datatype,
            "required": required, "datatype_description": None, "order": order,
            "description": question,
            "values": [{"key": k, "name": n} for k, n in values or []],
        })  # fmt: skip
    return {"service_code": entry[0], "attributes": attributes}


def create_sandbox_app(config: dict) -> Flask:
    """The sandbox city as a WSGI app; GeoReport v2 lives under /open311/v2/.

    config: SANDBOX_DATABASE_URL, SANDBOX_API_KEY, SANDBOX_FAULTS (a FaultPlan mapping),
    SANDBOX_BATCH_DELAY (seconds before a token gets its id), SANDBOX_SEED_COUNT,
    SANDBOX_DIALECT (names from dialects.ALL: a list, or a comma-separated string).
    """
    app = Flask(__name__)
    app.config.update(config)
    store = Store(app.config["SANDBOX_DATABASE_URL"])
    app.extensions["sandbox_store"] = store
    app.extensions["sandbox_faults"] = FaultPlan.from_config(
        app.config.get("SANDBOX_FAULTS")
    )
    set_dialects(app, app.config.get("SANDBOX_DIALECT"))
    seed_count = int(app.config.get("SANDBOX_SEED_COUNT") or 0)
    if seed_count and city.count(store) == 0:
        from portal.sandbox.seed import seed

        seed(store, seed_count)
    app.register_blueprint(_routes())
    return app


def set_faults(app: Flask, **plan) -> FaultPlan:
    """Replace the fault plan of a running sandbox (tests and benchmarks)."""
    app.extensions["sandbox_faults"] = FaultPlan.from_config(plan)
    return app.extensions["sandbox_faults"]


def _drop_connection():
    raw = request.environ.get("werkzeug.socket")
    if raw is None:
        return False
    try:
        raw.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return True


def _faulty(fmt: str, fault: str | None, answer: Response) -> Response:
    """Apply a fault that strikes after the work was done."""
    plan: FaultPlan = current_app.extensions["sandbox_faults"]
    if fault == "timeout":
        time.sleep(plan.timeout_seconds)
    elif fault == "drop" and _drop_connection():
        return Response(b"", 200)
    elif fault in ("drop", "malformed"):
        body = answer.get_data()
        return Response(
            body[: max(1, len(body) // 2)],
            answer.status_code,
            content_type=answer.content_type,
        )
    return answer


def _routes():
    from flask import Blueprint

    bp = Blueprint("sandbox", __name__, url_prefix="/open311/v2")

    @bp.before_request
    def _early_faults():
        plan: FaultPlan = current_app.extensions["sandbox_faults"]
        if plan.latency_ms:
            time.sleep(plan.latency_ms / 1000)
        request.fault = plan.pick()
        if request.fault == "error":
            page = "<html><body><h1>500 Internal Error</h1></body></html>"
            return Response(page, 500, content_type="text/html")
        if request.fault == "unavailable":
            return Response(
                "Service Unavailable", 503, headers={"Retry-After": plan.retry_after}
            )
        return None

    def store() -> Store:
        return current_app.extensions["sandbox_store"]

    refuse = dialects.refuse

    def fmt_of(fmt: str) -> str:
        if fmt not in ("json", "xml"):
            abort(404)
        return fmt

    @bp.get("/discovery.<fmt>")
    def discovery(fmt):
        dialects.check_discovery()
        payload = {
            "changeset": "2026-11-01 00:00", "contact": "sandbox city (demo data)",
            "key_service": "the key is SANDBOX_API_KEY in the portal's settings",
            "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                           "url": request.url_root.rstrip("/") + "/open311/v2",
                           "changeset": "2026-11-01 00:00", "type": "test",
                           "formats": ["text/xml", "application/json"]}],
        }  # fmt: skip
        return _faulty(fmt, request.fault, answer(fmt_of(fmt), "discovery", payload))

    @bp.get("/services.<fmt>")
    def services(fmt):
        payload = [dialects.service_view(_service_view(entry)) for entry in SERVICES]
        return _faulty(fmt, request.fault, answer(fmt_of(fmt), "services", payload))

    @bp.get("/services/<code>.<fmt>")
    def definition(code, fmt):
        entry = by_code().get(dialects.service_code_in(code))
        if entry is None:
            return refuse(fmt_of(fmt), city.Refused(404, "service_code not found"))
        dialects.check_definition(bool(entry[6]))
        view = dialects.definition_view(_definition_view(entry))
        return _faulty(
            fmt, request.fault, answer(fmt_of(fmt), "service_definition", view)
        )

    @bp.post("/requests.<fmt>")
    def create(fmt):
        fmt = fmt_of(fmt)
        if request.form.get("api_key") != current_app.config["SANDBOX_API_KEY"]:
            status = dialects.bad_key_status()
            return refuse(fmt, city.Refused(status, "Invalid api_key received"))
        try:
            row = city.create_request(
                store(),
                dialects.post_form(request.form, fmt),
                float(current_app.config.get("SANDBOX_BATCH_DELAY", 2)),
                **dialects.create_options(),
            )
        except city.Refused as refused:
            return refuse(fmt, refused)
        receipt, status = dialects.receipt(row)
        created = answer(fmt, "service_requests", receipt, status)
        return _faulty(fmt, request.fault, created)

    @bp.get("/requests.<fmt>")
    def listing(fmt):
        fmt = fmt_of(fmt)
        try:
            rows = city.query_requests(
                store(), dialects.query_args(request.args), dialects.page_cap()
            )
        except city.Refused as refused:
            return refuse(fmt, refused)
        dialects.check_page(rows, request.args)
        payload = [dialects.request_view(row, listing=True) for row in rows]
        return _faulty(fmt, request.fault, answer(fmt, "service_requests", payload))

    @bp.get("/requests/<request_id>.<fmt>")
    def one(request_id, fmt):
        fmt = fmt_of(fmt)
        args = dialects.query_args({"service_request_id": request_id})
        rows = city.query_requests(store(), args) if args["service_request_id"] else []
        if not rows:
            return refuse(fmt, city.Refused(404, f"no request {request_id}"))
        payload = [dialects.request_view(rows[0])]
        return _faulty(fmt, request.fault, answer(fmt, "service_requests", payload))

    @bp.get("/tokens/<token>.<fmt>")
    def token(token, fmt):
        fmt = fmt_of(fmt)
        dialects.check_tokens()
        row = city.find_token(store(), token)
        if row is None:
            return refuse(fmt, city.Refused(404, f"no token {token}"))
        request_id = dialects.request_id_out(row.public_id)
        payload = [{"service_request_id": request_id, "token": row.token}]
        return _faulty(fmt, request.fault, answer(fmt, "service_requests", payload))

    return bp


def default_config(instance_path: str) -> dict:
    return {
        "SANDBOX_DATABASE_URL": "sqlite:///"
        + os.path.join(instance_path, "sandbox.db"),
        "SANDBOX_API_KEY": "sandbox-demo-key",
        "SANDBOX_BATCH_DELAY": 2,
        "SANDBOX_SEED_COUNT": 3000,
        "SANDBOX_FAULTS": {},
        "SANDBOX_DIALECT": [],
    }
