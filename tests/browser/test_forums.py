"""Forums in Chromium: two browsers on one thread see each other's posts live, and
XSS vectors written through the forms run nowhere."""

import pytest

from portal.forums import services
from tests.conftest import PASSWORD
from tests.forums.xss import VECTORS


@pytest.fixture
def thread(make_area, make_user):
    area = make_area("Fishtown")
    make_user(email="ann@example.org", name="Ann")
    make_user(email="ben@example.org", name="Ben")
    return services.create_thread(
        make_user(email="cy@example.org"), area, "Street lights", "Out on Girard"
    )


def signed_in_page(browser, live_server, email):
    from tests.browser.conftest import keep_offline

    context = browser.new_context(
        base_url=live_server, viewport={"width": 390, "height": 844}
    )
    keep_offline(context)
    page = context.new_page()
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return context, page


def test_two_browsers_see_each_others_posts_live(browser, live_server, thread):
    ann_context, ann = signed_in_page(browser, live_server, "ann@example.org")
    ben_context, ben = signed_in_page(browser, live_server, "ben@example.org")
    for page in (ann, ben):
        page.goto(f"/forums/threads/{thread.id}")
        page.locator("body[data-live=yes]").wait_for(state="attached")
    ann.get_by_label("Message").fill("Reported it to 311 **today**")
    ann.get_by_role("button", name="Post the reply").click()
    ben.locator("#posts strong", has_text="today").wait_for()
    ben.get_by_label("Message").fill("Thanks Ann")
    ben.get_by_role("button", name="Post the reply").click()
    ann.locator("#posts", has_text="Thanks Ann").wait_for()
    ann_context.close()
    ben_context.close()


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


def test_xss_written_through_the_forms_runs_nowhere(
    browser, live_server, thread, make_user
):
    # Display names are text too: authors named after vectors reply to a thread.
    for number, vector in enumerate(VECTORS[:40]):
        if "\x00" not in vector:
            author = make_user(email=f"x{number}@example.org", name=vector[:80])
            services.reply(author, thread.id, f"Reply {number}")
    context, page = signed_in_page(browser, live_server, "ann@example.org")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/forums/fishtown/")
    page.get_by_label("Title").fill(VECTORS[0])
    # (A NUL character is refused before any of this: see tests/test_api.py.)
    storable = [vector for vector in VECTORS if "\x00" not in vector]
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
    context.close()
