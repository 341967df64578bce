"""The one sanitizer: an allow-list keeping formatting and dropping every script."""

from html.parser import HTMLParser

import pytest

from portal.forums.services import POST_MAX
from portal.sanitize import ATTRIBUTES, TAGS, render_markdown, sanitize_html
from tests.forums.xss import VECTORS


class Audit(HTMLParser):
    """Every element and attribute of the output, as a browser would parse them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            self.problems.append(f"element {tag}")
        for name, value in attrs:
            if name not in ATTRIBUTES.get(tag, []) or name.startswith("on"):
                self.problems.append(f"attribute {name} on {tag}")
            scheme = (value or "").strip().lower().split(":", 1)[0]
            if name == "href" and scheme not in ("http", "https", "mailto"):
                self.problems.append(f"href {value}")


def problems(html: str) -> list[str]:
    audit = Audit()
    audit.feed(html)
    audit.close()
    return audit.problems


def test_there_are_at_least_a_hundred_vectors():
    assert len(VECTORS) >= 100


@pytest.mark.parametrize("vector", VECTORS)
def test_no_vector_survives_markdown_then_sanitizing(vector):
    html = render_markdown(vector)
    assert problems(html) == [], html


@pytest.mark.parametrize("vector", VECTORS)
def test_no_vector_survives_sanitizing_raw_html(vector):
    html = sanitize_html(vector)
    assert problems(html) == [], html


def test_formatting_and_safe_links_are_kept():
    html = render_markdown("# Heading\n\n**bold** [map](https://example.org) <x@y.org>")
    assert "<h3>Heading</h3>" in html and "<strong>bold</strong>" in html
    assert '<a href="https://example.org" rel="nofollow ugc noopener">map</a>' in html
    assert 'href="mailto:x@y.org"' in html


def test_bare_urls_become_links_with_rel():
    html = render_markdown("see https://example.org/a?b=1")
    assert 'rel="nofollow ugc noopener"' in html


WORST = [
    "<a>" * (POST_MAX // 3),
    "<" * POST_MAX,
    "[" * (POST_MAX // 2) + "]" * (POST_MAX // 2),
    "<b><i>" * (POST_MAX // 6),
    "> " * (POST_MAX // 2),
]


@pytest.mark.parametrize(
    "body", WORST, ids=["anchors", "angles", "brackets", "nested", "quotes"]
)
def test_the_worst_bodies_at_the_cap_stay_text(body):
    # bleach is quadratic on nested markup: the 20,000-character cap keeps a single
    # post well under a second (python -m bench.worst_bodies prints the times).
    html = render_markdown(body)
    assert "<a>" not in html and "<b>" not in html and "<i>" not in html
