"""The city's Open311 GeoReport v2 client; only this module reads Flask config."""

from zoneinfo import ZoneInfo

from flask import Flask, current_app

from portal.cityapi.client import ADDRESS_FIELDS, Open311Client

SANDBOX_ENDPOINT = "http://sandbox-city.invalid/open311/v2"


def build_client(app: Flask) -> Open311Client:
    """A client for PORTAL_CITY_URL, or for the in-process sandbox city when unset."""
    config = app.config
    transport = None
    endpoint = config.get("CITY_URL")
    api_key = config.get("CITY_API_KEY")
    if not endpoint:
        # The sandbox registers a WSGI transport: no socket, no port, same process.
        transport = app.extensions["sandbox_transport"]()
        endpoint = SANDBOX_ENDPOINT
        api_key = api_key or config["SANDBOX_API_KEY"]
    return Open311Client(
        endpoint,
        api_key=api_key,
        jurisdiction_id=config.get("CITY_JURISDICTION"),
        fmt=config.get("CITY_FORMAT", "json"),
        timeout=float(config.get("CITY_TIMEOUT", 15)),
        default_tz=ZoneInfo(config["CITY_TIMEZONE"]),
        transport=transport,
        address_fields=address_fields(config.get("CITY_ADDRESS_FIELDS")),
    )


def address_fields(setting) -> tuple[str, ...]:
    """CITY_ADDRESS_FIELDS as field names: a list, or a comma-separated string (what a
    PORTAL_CITY_ADDRESS_FIELDS variable that is not JSON becomes)."""
    if isinstance(setting, str):
        setting = setting.split(",")
    names = tuple(name.strip() for name in setting or () if name and name.strip())
    return names or ADDRESS_FIELDS


def get_city_api() -> Open311Client:
    """The app's one city client (built on first use)."""
    app = current_app._get_current_object()
    client = app.extensions.get("city_api")
    if client is None:
        client = app.extensions["city_api"] = build_client(app)
    return client
