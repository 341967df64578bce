"""Every XSS vector as a display name, a thread title, a body and an edit: the pages
that show them hold no script, no event attribute and no script URL."""

from html.parser import HTMLParser

import pytest

from portal.forums import services
from tests.forums.xss import VECTORS

STORABLE = [vector for vector in VECTORS if "\x00" not in vector]


class PageAudit(HTMLParser):
    """A whole page as a browser parses it: only the portal's own scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "iframe", "object", "embed", "svg", "math", "base"):
            if not (
                tag == "script" and (attrs.get("src") or "").startswith("/static/")
            ):
                self.problems.append(f"element {tag}")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"attribute {name} on {tag}")
            scheme = (value or "").strip().lower().split(":", 1)[0]
            if name in ("href", "src", "action", "formaction") and scheme in (
                "javascript",
                "data",
                "vbscript",
            ):
                self.problems.append(f"{name} {value}")


def page_problems(html: str) -> list[str]:
    audit = PageAudit()
    audit.feed(html)
    audit.close()
    return audit.problems


def test_every_vector_is_tried():
    assert len(STORABLE) >= 100


@pytest.mark.parametrize("vector", STORABLE)
def test_a_vector_everywhere_a_resident_writes(
    client, auth, make_area, make_user, vector
):
    area = make_area("Fishtown")
    author = make_user(email="a@example.org", name=vector[:80].strip() or "x")
    title = " ".join(vector.split())[:200] or "x"
    thread = services.create_thread(author, area, title, vector)
    reply = services.reply(author, thread.id, "first words")
    services.edit_post(author, reply.id, vector)
    auth.login("a@example.org")
    for path in (f"/forums/threads/{thread.id}", "/forums/fishtown/"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert page_problems(answer.data.decode()) == [], path
    edit = client.get(f"/forums/posts/{reply.id}/edit")
    assert page_problems(edit.data.decode()) == []
