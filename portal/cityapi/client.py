"""Open311Client: GeoReport v2 over httpx (JSON or XML); the network only in _send."""

from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import httpx

from portal.cityapi import parse, words
from portal.cityapi.errors import CityRejected, CityUnavailable
from portal.cityapi.types import (
    Discovery,
    NewServiceRequest,
    Service,
    ServiceDefinition,
    ServiceRequest,
    SubmitReceipt,
)

MAX_BODY = 10 * 1024 * 1024
# The spec's address_string, and the address some servers read instead (they ignore
# address_string, and answer an address-only POST with a 500).
ADDRESS_FIELDS = ("address_string", "address")
FIELDS = (
    "lat", "long", "address_string", "address_id", "email", "device_id", "account_id",
    "first_name", "last_name", "phone", "description", "media_url",
)  # fmt: skip


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds, whether given as seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _param(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Open311Client:
    """A GeoReport v2 client for one endpoint.

    :param endpoint: the endpoint URL, e.g. ``https://city.example/open311/v2``.
    :param fmt: ``json`` or ``xml``: the extension put on every resource.
    :param default_tz: the zone of dates a server sends without one.
    :param address_fields: the form fields a POST puts the address in.
    :param transport: an httpx transport (tests and the in-process sandbox city).
    """

    def __init__(
        self,
        endpoint: str,
        api_key: str | None = None,
        jurisdiction_id: str | None = None,
        fmt: str = "json",
        timeout: float = 15.0,
        default_tz: tzinfo = UTC,
        transport: httpx.BaseTransport | None = None,
        max_body: int = MAX_BODY,
        address_fields: tuple[str, ...] = ADDRESS_FIELDS,
    ):
        if fmt not in ("json", "xml"):
            raise ValueError("fmt must be json or xml")
        if isinstance(address_fields, str) or not address_fields:
            raise ValueError("address_fields must name at least one form field")
        self.address_fields = tuple(address_fields)
        self.endpoint = endpoint.rstrip("/")
        self.api_key = api_key
        self.jurisdiction_id = jurisdiction_id
        self.fmt = fmt
        self.default_tz = default_tz
        self.max_body = max_body
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            headers={
                "User-Agent": "NeighborhoodPortal/1 (Open311 GeoReport v2 client)"
            },
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    # --- the one network seam -----------------------------------------------------

    def _send(self, method: str, path: str, params=None, form=None) -> httpx.Response:
        """Send one request; every transport failure becomes CityUnavailable.

        :raises CityUnavailable: timeout, refused or dropped connection, oversized body.
        """
        url = f"{self.endpoint}/{path}.{self.fmt}"
        posting = method == "POST"
        content = urlencode(form, doseq=False).encode() if form is not None else None
        headers = (
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
            if content is not None
            else {}
        )
        try:
            with self._http.stream(
                method, url, params=params, content=content, headers=headers
            ) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > self.max_body:
                        raise CityUnavailable(
                            f"the city's answer is larger than {self.max_body} bytes",
                            maybe_stored=posting,
                            status=response.status_code,
                        )
                response._content = bytes(body)
                return response
        except httpx.ConnectError as error:
            raise CityUnavailable(f"cannot connect to the city: {error}") from None
        except httpx.TimeoutException:
            raise CityUnavailable(
                "the city did not answer in time", maybe_stored=posting
            ) from None
        except httpx.HTTPError as error:
            raise CityUnavailable(
                f"the connection to the city failed: {type(error).__name__}",
                maybe_stored=posting,
            ) from None

    # --- answers ------------------------------------------------------------------

    def _call(self, method: str, path: str, reader, params=None, form=None):
        response = self._send(method, path, params=params, form=form)
        posting = method == "POST"
        status = response.status_code
        if 200 <= status < 300:
            try:
                return reader(parse.decode(response.content, self._format_of(response)))
            except ValueError as error:
                raise CityUnavailable(
                    f"the city's answer could not be read: {error}",
                    maybe_stored=posting,
                    status=status,
                ) from None
        pairs = words.error_pairs(
            response.content,
            response.headers.get("Content-Type", ""),
            self._format_of(response),
        )
        said = words.joined(pairs)
        if 400 <= status < 500 and status != 429:
            reason = said or f"the city refused the request (HTTP {status})"
            raise CityRejected(reason, status=status, errors=pairs)
        unavailable = status == 429 or status >= 500
        what = (
            "the city is unavailable"
            if unavailable
            else "unexpected answer from the city"
        )
        raise CityUnavailable(
            f"{what} (HTTP {status}): {said}" if said else f"{what} (HTTP {status})",
            retry_after=(
                _retry_after(response.headers.get("Retry-After"))
                if unavailable
                else None
            ),
            # A redirect after a POST often follows a request the city stored.
            maybe_stored=posting
            and ((status >= 500 and status != 503) or 300 <= status < 400),
            status=status,
            words=said,
        )

    def _format_of(self, response: httpx.Response) -> str:
        kind = response.headers.get("Content-Type", "")
        if "xml" in kind:
            return "xml"
        if "json" in kind:
            return "json"
        return self.fmt

    def _query(self, **params) -> dict:
        if self.jurisdiction_id:
            params["jurisdiction_id"] = self.jurisdiction_id
        # The spec treats an empty parameter as absent; never send one.
        return {k: _param(v) for k, v in params.items() if v not in (None, "", [], ())}

    # --- the API ------------------------------------------------------------------

    def discovery(self) -> Discovery:
        """:raises CityUnavailable, CityRejected:"""
        return self._call(
            "GET", "discovery", parse.parse_discovery, params=self._query()
        )

    def list_services(self) -> list[Service]:
        """The city's service list. :raises CityUnavailable, CityRejected:"""
        return self._call("GET", "services", parse.parse_services, params=self._query())

    def get_service_definition(self, service_code: str) -> ServiceDefinition:
        """A service's attribute questions. :raises CityUnavailable, CityRejected:"""
        return self._call(
            "GET",
            f"services/{service_code}",
            lambda data: parse.parse_definition(data, service_code),
            params=self._query(),
        )

    def submit_request(self, request: NewServiceRequest) -> SubmitReceipt:
        """POST a new service request (form-encoded, with the API key).

        :raises CityRejected: the city refused it (its words are in ``reason``).
        :raises CityUnavailable: retry later; check ``maybe_stored`` before re-posting.
        """
        form: list[tuple[str, str]] = []
        if self.api_key:
            form.append(("api_key", self.api_key))
        if self.jurisdiction_id:
            form.append(("jurisdiction_id", self.jurisdiction_id))
        form.append(("service_code", request.service_code))
        for name in FIELDS:
            value = getattr(request, name)
            if value in (None, ""):
                continue
            names = self.address_fields if name == "address_string" else (name,)
            form.extend((sent_as, _param(value)) for sent_as in names)
        for code, value in request.attributes.items():
            if isinstance(value, (list, tuple)):
                form.extend((f"attribute[{code}][]", str(v)) for v in value)
            elif value not in (None, ""):
                form.append((f"attribute[{code}]", str(value)))
        return self._call("POST", "requests", parse.parse_receipt, form=form)

    def request_id_from_token(self, token: str) -> str | None:
        """The id a token became, or None while the city is still processing it.

        :raises CityUnavailable, CityRejected:
        """
        # A 404 means not known yet: servers differ on when a token appears.
        found = self._lookup(f"tokens/{token}", lambda d: parse.as_list(d, "tokens"))
        for item in found or ():
            request_id = parse.as_str(item.get("service_request_id"))
            if request_id:
                return request_id
        return None

    def get_requests(self, **filters) -> list[ServiceRequest]:
        """GET requests with the standard filters and the common extensions.

        Filters: service_request_id, service_code, status (str or list), start_date,
        end_date, updated_after, updated_before (aware datetimes), page, page_size,
        extensions (bool). :raises CityUnavailable, CityRejected:
        """
        return self._call(
            "GET",
            "requests",
            lambda data: parse.parse_requests(data, self.default_tz),
            params=self._query(**filters),
        )

    def iter_requests(self, page_size: int = 500, max_pages: int = 10_000, **filters
                      ) -> Iterator[list[ServiceRequest]]:  # fmt: skip
        """Page through requests (1-based ``page``): each page that has records.

        Servers cap ``page_size`` silently (Chicago at 500) or ignore it, so the size
        that ends the listing is the server's: the longest page it has sent so far. The
        listing ends at the first page shorter than that, at an empty page, at a 404
        past page 1 (some servers answer "Invalid page." there), or at a page that
        repeats the one before (a server that ignores ``page``). A short first page
        thus costs one more request, to tell a capped server from a short listing.
        Pages are counted by the records the city sent, including those skipped for
        having neither id nor token.

        :raises CityRejected: a 404 on page 1 too (unknown jurisdiction, wrong URL),
            except when asking for ``service_request_id``: the spec's 404 for ids that
            do not exist is then an empty listing.
        :raises CityUnavailable: as every call.
        """
        size = 0
        previous: list[str | None] = []
        for page in range(1, max_pages + 1):
            try:
                sent, batch = self._call(
                    "GET",
                    "requests",
                    lambda data: parse.parse_page(data, self.default_tz),
                    params=self._query(page=page, page_size=page_size, **filters),
                )
            except CityRejected as error:
                if error.status == 404 and (
                    page > 1 or filters.get("service_request_id")
                ):
                    return
                raise
            keys = [r.service_request_id or r.token for r in batch]
            if sent == 0 or (keys and keys == previous):
                return
            yield batch
            if sent < size:
                return
            size = max(size, sent)
            previous = keys

    def get_request(self, service_request_id: str) -> ServiceRequest | None:
        """One request, or None if the city does not know it.

        :raises CityUnavailable, CityRejected:
        """
        found = self._lookup(
            f"requests/{service_request_id}",
            lambda data: parse.parse_requests(data, self.default_tz),
        )
        return found[0] if found else None

    def _lookup(self, path: str, reader):
        """GET one resource; None when the city answers 404 (it does not know it)."""
        try:
            return self._call("GET", path, reader, params=self._query())
        except CityRejected as error:
            if error.status == 404:
                return None
            raise
