"""Forums in Chromium: two browsers on one thread see each other's posts live, and
XSS vectors written through the forms run nowhere."""

import pytest

from portal.bounds import is_valid_text
from portal.forums import services
from tests.forums.xss import VECTORS


@pytest.fixture
def thread(make_area, make_user):
    area = make_area("Fishtown")
    make_user(email="ann@example.org", name="Ann")
    make_user(email="ben@example.org", name="Ben")
    return services.create_thread(
        make_user(email="cy@example.org"), area, "Street lights", "Out on Girard"
    )


def test_two_browsers_see_each_others_posts_live(signed_in, thread):
    ann = signed_in("ann@example.org")
    ben = signed_in("ben@example.org")
    for page in (ann, ben):
        page.goto(f"/forums/threads/{thread.id}")
        page.locator("body[data-live=yes]").wait_for(state="attached")
    ann.get_by_label("Message").fill("Reported it to 311 **today**")
    ann.get_by_role("button", name="Post the reply").click()
    ben.locator("#posts strong", has_text="today").wait_for()
    ben.get_by_label("Message").fill("Thanks Ann")
    ben.get_by_role("button", name="Post the reply").click()
    ann.locator("#posts", has_text="Thanks Ann").wait_for()


FIND_SCRIPT_DOORS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) bad.push(el.tagName + ' ' + attr.name);
      const value = attr.value.trim().toLowerCase();
      if (/^(javascript|data|vbscript):/.test(value)) bad.push(value);
    }
  }
  return bad;
}"""


def assert_no_script_ran(page, dialogs):
    assert page.evaluate(FIND_SCRIPT_DOORS) == []
    assert (
        page.locator("#posts script, #posts iframe, #posts svg, #posts img").count()
        == 0
    )
    assert dialogs == []


def test_xss_written_through_the_forms_runs_nowhere(signed_in, thread, make_user):
    # Display names are text too: authors named after vectors reply to a thread.
    for number, vector in enumerate(VECTORS[:40]):
        if is_valid_text(vector):
            author = make_user(email=f"x{number}@example.org", name=vector[:80])
            services.reply(author, thread.id, f"Reply {number}")
    page = signed_in("ann@example.org")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/forums/fishtown/")
    page.get_by_label("Title").fill(VECTORS[0])
    # (NUL and other control characters are refused before any of this: see
    # tests/test_api.py.)
    storable = [vector for vector in VECTORS if is_valid_text(vector)]
    page.get_by_label("Message").fill("\n\n".join(storable))
    page.get_by_role("button", name="Post the thread").click()
    page.wait_for_url("**/forums/threads/*")
    page.get_by_label("Message").fill(VECTORS[-5])
    page.get_by_role("button", name="Post the reply").click()
    page.wait_for_url("**/forums/threads/*")
    assert_no_script_ran(page, dialogs)
    # Through the edit form too (the reply just made is the last post).
    page.locator(".post-actions a", has_text="Edit").last.click()
    page.get_by_label("Message").fill(VECTORS[-9])
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/forums/threads/*")
    assert_no_script_ran(page, dialogs)
    for number in (1, 2):
        page.goto(f"/forums/threads/{thread.id}?page={number}")
        assert page.locator("#posts article").count() > 1
        assert_no_script_ran(page, dialogs)
    page.goto("/forums/fishtown/")
    assert_no_script_ran(page, dialogs)
