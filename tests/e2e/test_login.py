"""Signing in in a real browser, with screenshots of the pages at desktop and phone width."""

import pytest

from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_signs_in_and_shows_the_home_page(page, admin, team, password):
    sign_in(page, admin.email, password)
    page.wait_for_url("**/")
    assert page.get_by_role("heading", name="Hello, Alice").is_visible()
    # Administration lives in the user menu, so the top bar keeps room for the modules.
    page.get_by_test_id("user-menu").click()
    assert page.get_by_role("link", name="Users", exact=True).is_visible()
    screenshot(page, "home-admin-desktop")
    assert page.console_errors == []


def test_it_shows_a_clear_message_for_a_wrong_password(page, rep):
    sign_in(page, rep.email, "not the password")
    assert page.get_by_text("do not match an active account").is_visible()
    screenshot(page, "login-error-desktop")


def test_the_menu_works_at_phone_width(phone_page, rep, team, password):
    page = phone_page
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    screenshot(page, "home-rep-phone")
    # At 375 px the navigation folds into the toggler.
    toggler = page.get_by_role("button", name="Toggle navigation")
    assert toggler.is_visible()
    toggler.click()
    page.get_by_test_id("user-menu").click()
    sign_out = page.get_by_role("button", name="Sign out")
    sign_out.wait_for()
    page.wait_for_timeout(400)  # let the collapse animation finish before the picture
    screenshot(page, "menu-open-phone")
    sign_out.click()
    page.wait_for_url("**/login/")
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_language_switcher_shows_chinese(page, rep, password):
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    page.get_by_test_id("language-menu").click()
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot(page, "home-rep-zh-desktop")
    rep.refresh_from_db()
    assert rep.language == "zh-hans"
