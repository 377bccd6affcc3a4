"""Every page of the app in a real browser, at desktop and phone width.

Each page must load without a server error, without console errors (a CSP violation shows up
as one), and without horizontal scrolling at 375 px. A screenshot of each lands in
test-artifacts/screenshots/ for a person to look at.
"""

import pytest

from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

ANONYMOUS_PAGES = ["/login/", "/password/reset/", "/password/reset/sent/"]

ADMIN_PAGES = [
    "/",
    "/account/",
    "/account/two-factor/",
    "/password/change/",
    "/users/",
    "/users/?status=active&ordering=email",
    "/users/invite/",
    "/users/{user}/",
    "/teams/",
    "/teams/new/",
    "/teams/{team}/",
    "/admin/",
    "/admin/accounts/user/",
    "/customers/",
    "/customers/tags/",
    "/customers/trash/",
    "/customers/contacts/",
    "/customers/tasks/",
    "/customers/tasks/calendar/",
    "/customers/segments/",
    "/customers/duplicates/",
    "/customers/fields/",
    "/customers/transfer/import/",
    "/customers/transfer/imports/",
    "/search/?q=acme",
]


def slug(path):
    return path.strip("/").replace("/", "-").replace("?", "-").replace("&", "-").replace(
        "=", "") or "home"


def check(page, path, name, width):
    response = page.goto(path)
    assert response.status < 400, f"{path} answered {response.status}"
    page.wait_for_load_state("networkidle")
    screenshot(page, name)
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"{path} scrolls sideways at {width}px ({overflow}px wide)"


@pytest.mark.parametrize("width", [1280, 375])
def test_anonymous_pages(browser, live_server, width):
    context = browser.new_context(viewport={"width": width, "height": 800},
                                  base_url=live_server.url)
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    for path in ANONYMOUS_PAGES:
        check(page, path, f"anon-{slug(path)}-{width}", width)
    context.close()
    assert errors == []


@pytest.mark.parametrize("width", [1280, 375])
def test_admin_pages(browser, live_server, admin, rep, team, password, width):
    context = browser.new_context(viewport={"width": width, "height": 800},
                                  base_url=live_server.url)
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, admin.email, password)
    page.wait_for_url("**/")
    for raw in ADMIN_PAGES:
        path = raw.format(user=rep.uuid, team=team.uuid)
        check(page, path, f"admin-{slug(raw.replace('{user}', 'user').replace('{team}', 'team'))}"
              f"-{width}", width)
    context.close()
    assert errors == []


def test_the_user_list_filters_in_place_with_htmx(page, admin, rep, manager, password):
    sign_in(page, admin.email, password)
    page.wait_for_url("**/")
    page.goto("/users/")
    rows = page.locator("#user-results tbody tr")
    assert rows.count() == 3
    page.get_by_label("Search").fill("bob.rep")
    page.wait_for_url("**/users/?*q=bob.rep*")
    page.wait_for_function("document.querySelectorAll('#user-results tbody tr').length === 1")
    assert "bob.rep@example.com" in page.locator("#user-results").inner_text()
    page.get_by_label("Status").select_option("inactive")
    page.wait_for_url("**status=inactive*")
    assert "No users match these filters." in page.locator("#user-results").inner_text()
