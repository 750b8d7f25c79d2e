"""Every console page in headless Chromium: no serious or critical axe-core violation
(axe-core as axe-playwright-python ships it, injected into the page), no sideways scroll
on a phone, Vietnamese, and a visible focus ring for the keyboard.

The pages are those a person reaches from the menu, for each role that sees them, on the
shared running system with its demo data and demo accounts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from minhbach_testing.harness import System

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
OFFICE = {"viewport": {"width": 1366, "height": 768}}
SERIOUS = ("serious", "critical")


def pages_for(role_account: str) -> list[str]:
    common = ["/console/", "/console/account/password"]
    staff = [
        "/console/procedures",
        "/console/procedures?q=giay+phep&status=draft",
        "/console/procedures/MB.XD.001",
        "/console/procedures/MB.XD.001/history",
        "/console/decisions",
        "/console/decisions/1",  # the demo decision, in effect
        "/console/decisions/1/tracker",
    ]
    return {
        "bientap": [
            *common,
            *staff,
            "/console/procedures/new",
            "/console/procedures/MB.XD.001/edit",
            "/console/decisions/new",
            "/console/decisions/new?q=giay+phep",
        ],
        "pheduyet": [*common, *staff, "/console/inbox"],
        "vanhanh": [
            *common,
            "/console/operations",
            "/console/operations/reconciliation",
            "/console/operations/report",
            "/console/operations/report?state=problems",
            "/console/operations/resync/portal",
        ],
    }[role_account]


def sign_in(page: Any, system: System, username: str) -> None:
    page.goto(f"{system.console_url}/console/sign-in")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill("minhbach-demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{system.console_url}/console/")


def serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v.get("impact") in SERIOUS
    ]


@pytest.fixture
def context_for(browser: Any) -> Iterator[Any]:
    opened: list[Any] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(locale="vi-VN", **options)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


def test_the_sign_in_page_is_accessible_on_a_phone_and_at_the_office(
    system: System, context_for: Any
) -> None:
    for viewport in (PHONE, OFFICE):
        page = context_for(**viewport).new_page()
        page.goto(f"{system.console_url}/console/sign-in")
        assert page.locator("html").get_attribute("lang") == "vi"
        assert serious_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("username", ["bientap", "pheduyet", "vanhanh"])
def test_every_page_of_a_role_has_no_serious_accessibility_violation(
    system: System, context_for: Any, username: str
) -> None:
    page = context_for(**OFFICE).new_page()
    sign_in(page, system, username)
    problems: dict[str, list[str]] = {}
    for path in pages_for(username):
        answer = page.goto(f"{system.console_url}{path}")
        assert answer is not None and answer.status == 200, path
        if found := serious_violations(page):
            problems[path] = found
    assert problems == {}


@pytest.mark.parametrize("username", ["bientap", "pheduyet", "vanhanh"])
def test_no_console_page_scrolls_sideways_on_a_phone(system: System, context_for: Any, username: str) -> None:
    page = context_for(**PHONE).new_page()
    sign_in(page, system, username)
    wide = []
    for path in pages_for(username):
        page.goto(f"{system.console_url}{path}")
        if not page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"):
            wide.append(path)
    assert wide == []


def test_the_keyboard_reaches_the_content_first_and_shows_where_it_is(
    system: System, context_for: Any
) -> None:
    page = context_for(**OFFICE).new_page()
    sign_in(page, system, "bientap")
    page.goto(f"{system.console_url}/console/procedures")
    page.keyboard.press("Tab")
    skip = page.evaluate("document.activeElement.textContent.trim()")
    assert skip == "Bỏ qua đến nội dung chính"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
