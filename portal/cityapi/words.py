"""The city's own words in an error answer, whatever shape the body takes."""

from html.parser import HTMLParser

from portal.cityapi import parse

MAX_WORDS = 300  # per text: an error page is not worth more on a ticket
MAX_REASON = 1000  # all texts joined: a spec array may list many errors
# A 10 MB error page is not read to the end for its words.
MAX_TEXT_BYTES = 256 * 1024
# Keys that carry the message, in the order they are trusted: the spec's first, then
# Django REST framework, then the usual web frameworks' (Spring, Express, Rails).
WORD_KEYS = ("description", "detail", "details", "message", "error", "errors",
             "title", "error_description", "msg")  # fmt: skip
# Keys whose values differ between two identical answers: the sender compares reasons.
VOLATILE_KEYS = {"timestamp", "time", "date", "datetime", "path", "request_id",
                 "requestid", "trace", "traceid", "trace_id", "id",
                 "instance"}  # fmt: skip
SKIPPED_TAGS = {"script", "style", "noscript", "template", "head", "svg"}


def squeeze(text: str, limit: int = MAX_WORDS) -> str:
    """Whitespace collapsed, cut at a word boundary to at most ``limit`` characters."""
    text = " ".join(
        "".join(c if c.isprintable() and c != "\ufffd" else " " for c in text).split()
    )
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut + "…"


class _VisibleText(HTMLParser):
    """Collects <title>, <h1> and the rest of the visible text of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.heading: list[str] = []
        self.body: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "body" and "head" in self._open:
            self.handle_endtag("head")  # a head left open ends where the body begins
        if tag in ("br", "p", "div", "li", "tr", "hr"):
            self.body.append(" ")
        if tag in SKIPPED_TAGS or tag in ("title", "h1"):
            self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self._open:
            # Unclosed children of a closed element close with it, as browsers do.
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def handle_data(self, data):
        if "title" in self._open:
            self.title.append(data)
        elif any(tag in SKIPPED_TAGS for tag in self._open):
            return
        elif "h1" in self._open:
            self.heading.append(data)
        else:
            self.body.append(data)


def html_words(text: str) -> str:
    """A page's words: its title and first heading, or else its body text."""
    page = _VisibleText()
    page.feed(text)
    page.close()
    title = squeeze("".join(page.title))
    heading = squeeze("".join(page.heading))
    if heading and heading.casefold() in title.casefold():
        heading = ""  # nginx and Apache repeat the title as the heading
    headline = ": ".join(part for part in (title, heading) if part)
    return squeeze(headline or "".join(page.body))


def _pairs(data, code: str = "") -> list[tuple[str, str]]:
    """(code, text) pairs from decoded JSON or XML of any of the known shapes."""
    if isinstance(data, str):
        text = squeeze(data)
        return [(code, text)] if text else []
    if isinstance(data, list):
        return [pair for item in data for pair in _pairs(item, code)]
    if not isinstance(data, dict):
        return []
    if len(data) == 1 and next(iter(data)) in parse.WRAPPERS:
        return _pairs(next(iter(data.values())), code)
    code = parse.as_str(data.get("code")) or code
    for key in WORD_KEYS:
        found = _pairs(data.get(key), code)
        if found:
            return found
    # Django REST framework's validation errors: {"field": ["what is wrong"]}.
    return [
        (code, f"{key}: {text}")
        for key, value in data.items()
        if key.lower() not in VOLATILE_KEYS and key != "code"
        for _code, text in _pairs(value if isinstance(value, (str, list)) else None)
    ]


def _decoded(body: bytes, fmt: str):
    """The body as JSON or XML, trying the other when the declared one fails."""
    for kind in (fmt, "xml" if fmt == "json" else "json"):
        try:
            return parse.decode(body, kind)
        except ValueError:
            continue
    raise ValueError("neither JSON nor XML")


def _looks_like_html(head: str, content_type: str) -> bool:
    head = head.lower()
    return "html" in content_type.lower() or "<html" in head or "<!doctype html" in head


def error_pairs(body: bytes, content_type: str, fmt: str) -> list[tuple[str, str]]:
    """The city's words in an error body as (code, text) pairs, [] when it has none.

    :param content_type: the answer's Content-Type header ("" when absent).
    :param fmt: ``json`` or ``xml``: what the body should be, from that header or the
        resource's extension.
    """
    head = body[:MAX_TEXT_BYTES].decode("utf-8-sig", errors="replace")
    if not head.strip():
        return []
    if not _looks_like_html(head[:512], content_type):
        try:
            data = _decoded(body, fmt)
        except ValueError:
            pass
        else:
            # Readable data: its words, if any; {} or 404 has none.
            return list(dict.fromkeys(_pairs(data)))  # the same error listed twice
    if "<" in head:
        text = html_words(head)
    else:
        text = squeeze(head)
    return [("", text)] if text else []


def joined(pairs: list[tuple[str, str]]) -> str | None:
    """The texts as one line for a reason, or None when there are none."""
    return squeeze("; ".join(text for _code, text in pairs), MAX_REASON) or None
