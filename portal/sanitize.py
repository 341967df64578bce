"""The one place user text becomes HTML: Markdown (raw HTML off), then bleach.

Markdown alone does not make HTML safe (``[x](javascript:...)`` is a live link), so
every rendering passes the sanitizer last. Swapping bleach for nh3 touches only this
file; tests pin the allow-list and the worst-case time at the length cap.
"""

import re
from functools import partial

import bleach
from bleach.linkifier import LinkifyFilter
from markdown_it import MarkdownIt

TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol",
        "li", "a", "h3", "h4", "h5", "h6", "del",
    }
)  # fmt: skip
ATTRIBUTES = {"a": ["href", "title", "rel"], "ol": ["start"]}
PROTOCOLS = frozenset({"http", "https", "mailto"})
ABSOLUTE = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)


def _allowed(tag: str, name: str, value: str) -> bool:
    if name not in ATTRIBUTES.get(tag, ()):
        return False
    # Links are absolute http, https or mailto only: bleach alone would keep
    # relative ones, where a browser's URL repairs start.
    return name != "href" or bool(ABSOLUTE.match(value))


LINK_REL = "nofollow ugc noopener"

# commonmark without raw HTML; tables and strikethrough are harmless extras.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    "strikethrough"
)


def _rel(attrs, new=False):
    href_key = (None, "href")
    if href_key in attrs:
        attrs[(None, "rel")] = LINK_REL
    return attrs


# One pass: clean, then bare URLs become links and every link gets its rel.
_cleaner = bleach.Cleaner(
    tags=TAGS,
    attributes=_allowed,
    protocols=PROTOCOLS,
    strip=True,
    filters=[partial(LinkifyFilter, callbacks=[_rel], skip_tags={"pre", "code"})],
)


def sanitize_html(html: str) -> str:
    """Keep only the allow-list; every link gets ``rel="nofollow ugc noopener"``."""
    return _cleaner.clean(html)


def render_markdown(source: str) -> str:
    """User Markdown to safe HTML (headings start at h3: pages own h1 and h2)."""
    html = _markdown.render(source or "")
    for level in (2, 1):  # shift before sanitizing, so h1/h2 never survive
        html = html.replace(f"<h{level}>", f"<h{level + 2}>").replace(
            f"</h{level}>", f"</h{level + 2}>"
        )
    return sanitize_html(html).strip()
