"""The city client's typed errors: retry later (unavailable) or tell the filer."""


class CityAPIError(Exception):
    """Base of every failure talking to the city."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CityUnavailable(CityAPIError):
    """Worth retrying: timeouts, dropped connections, 5xx, 429/503, unreadable bodies.

    The reason is the same text for the same answer (the sender counts repeats), e.g.
    ``the city is unavailable (HTTP 500): Internal Error``.

    :ivar status: the HTTP status of the answer, or None when none came (timeout,
        refused or dropped connection).
    :ivar words: the city's own words in its answer, or None when it sent none.
    :ivar retry_after: seconds the city asked us to wait (Retry-After), or None.
    :ivar maybe_stored: the request may have reached the city before the failure, so a
        POST must not simply be repeated (the sender looks for it first).
    """

    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        maybe_stored: bool = False,
        status: int | None = None,
        words: str | None = None,
    ):
        super().__init__(reason)
        self.retry_after = retry_after
        self.maybe_stored = maybe_stored
        self.status = status
        self.words = words


class CityRejected(CityAPIError):
    """The city refused the request (4xx); retrying the same request cannot help.

    The reason is the city's words (``; ``-joined), or ``the city refused the request
    (HTTP 400)`` when its answer had none.

    :ivar status: the HTTP status.
    :ivar errors: the city's words as (code, text) pairs, from the spec's error list or
        whatever the server sent instead; code is "" when it gave none.
    """

    def __init__(self, reason: str, status: int, errors=()):
        super().__init__(reason)
        self.status = status
        self.errors = list(errors)
