"""The city client's typed errors: retry later (unavailable) or tell the filer."""


class CityAPIError(Exception):
    """Base of every failure talking to the city."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CityUnavailable(CityAPIError):
    """Worth retrying: timeouts, dropped connections, 5xx, 429/503, unreadable bodies.

    :ivar retry_after: seconds the city asked us to wait (Retry-After), or None.
    :ivar maybe_stored: the request may have reached the city before the failure, so a
        POST must not simply be repeated (the sender looks for it first).
    """

    def __init__(
        self, reason: str, retry_after: float | None = None, maybe_stored: bool = False
    ):
        super().__init__(reason)
        self.retry_after = retry_after
        self.maybe_stored = maybe_stored


class CityRejected(CityAPIError):
    """The city refused the request (4xx); retrying the same request cannot help.

    :ivar status: the HTTP status.
    :ivar errors: the spec's error list as (code, description) pairs.
    """

    def __init__(self, reason: str, status: int, errors=()):
        super().__init__(reason)
        self.status = status
        self.errors = list(errors)
