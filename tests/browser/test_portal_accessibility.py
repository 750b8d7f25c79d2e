"""Everyone can use the portal (issue 14): every kind of portal page passes an axe-core scan
in headless Chromium, on a phone and on a desktop, and the keyboard reaches the content first.

axe-core is the copy axe-playwright-python ships, injected into each page by Playwright, as
the console's browser tests do. A serious or critical violation fails, and so does any
colour-contrast violation whatever axe calls its impact: the portal's text meets WCAG 2.1 AA.
The pages are those of test_portal_pages (the demo data, an article of each category) plus a
field, a decision, a published answer, the hotline's form, look-up and statistics, the
search, and the page answering the subscribe form.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from minhbach_testing.harness import System
from tests.browser.paged_lists import codes as paged_codes
from tests.browser.paged_lists import label, paged_lists
from tests.browser.test_portal_pages import VIEWPORTS, portal_pages

__all__ = ["portal_pages"]  # a fixture, used by name

SERIOUS = ("serious", "critical")
SKIP_TEXT = "Bỏ qua, đến nội dung chính"
ANSWER = "Hồ sơ cấp giấy phép xây dựng nhà ở riêng lẻ được trả kết quả trong 15 ngày làm việc."
# The first element the Tab key reaches, in document order (visible or not: the skip link hides).
FIRST_FOCUSABLE = """() => {
  const first = document.querySelector(
    'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])');
  return first && {text: first.textContent.trim(), href: first.getAttribute('href')};
}"""


def publish_answer(system: System) -> str:
    """A citizen's question about MB.XD.001, answered and published; its tracking code."""
    ticket = system.publish_answer(
        {
            "kind": "phan_anh",
            "subject": "Thời hạn cấp giấy phép xây dựng nhà ở riêng lẻ",
            "body": "Xin hỏi bao lâu thì có kết quả cấp giấy phép xây dựng nhà ở riêng lẻ?",
            "procedure_code": "MB.XD.001",
            "name": "Phạm Thị Lan",
            "phone": "0912 000 111",
            "consent_to_publish": True,
        },
        unit="Phòng Quản lý xây dựng",
        answer=ANSWER,
    )
    return str(ticket["tracking_code"])


def first_link(html: str, pattern: str) -> str:
    found = re.search(pattern, html)
    assert found, pattern
    return found.group(1)


@pytest.fixture(scope="module")
def every_page(system: System, portal_pages: list[str]) -> list[str]:
    """One page of every kind the portal has (more than one of some); the paths to open."""
    code = publish_answer(system)
    system.wait_for_page(f"hoi-dap/{code}.html", "15 ngày làm việc", timeout=30)
    system.wait_for_page("hoi-dap/index.html", code, timeout=30)
    system.wait_for_page("hoi-dap/thong-ke.html", "Phòng Quản lý xây dựng", timeout=30)
    procedures = system.wait_for_page("thu-tuc/index.html", "MB.XD.001")
    field = first_link(procedures, r'href="\.\./(linh-vuc/[^"/]+\.html)"')
    decisions = system.wait_for_page("quyet-dinh/index.html", "</html>")
    decision = "quyet-dinh/" + first_link(decisions, r'<td><a href="([^"/]+\.html)"')
    system.wait_for_page("hoi-dap/gui-phan-anh.html", "</html>", timeout=30)
    return [
        *portal_pages,
        field,
        decision,
        "hoi-dap/index.html",
        f"hoi-dap/{code}.html",
        "hoi-dap/gui-phan-anh.html",
        "hoi-dap/tra-cuu.html",
        f"hoi-dap/tra-cuu.html?ma={code}",  # the look-up showing a result
        "hoi-dap/thong-ke.html",
        "tim-kiem?q=giay+phep+xay+dung",  # the search, answered by the notifier
    ]


def violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations, and every colour-contrast one."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v.get("impact") in SERIOUS or v["id"] == "color-contrast"
    ]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_portal_page_passes_axe_and_offers_the_skip_link_first(
    system: System, every_page: list[str], browser: Any, viewport: str
) -> None:
    context = browser.new_context(locale="vi-VN", **VIEWPORTS[viewport])
    problems: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        for path in every_page:
            response = page.goto(f"{system.notifier_url}/portal/{path}", wait_until="load")
            assert response is not None and response.status == 200, (path, response and response.status)
            if "?ma=" in path:
                page.locator("#result").wait_for(state="visible")
            found = violations(page)
            if page.evaluate("document.documentElement.lang") != "vi":
                found.append('not lang="vi"')
            if page.evaluate(FIRST_FOCUSABLE) != {"text": SKIP_TEXT, "href": "#noi-dung"}:
                found.append(f"the first focusable element is {page.evaluate(FIRST_FOCUSABLE)}")
            if page.locator("main#noi-dung").count() != 1:
                found.append("no <main id=noi-dung>")
            if found:
                problems[path] = found
    finally:
        context.close()
    assert problems == {}


def test_the_keyboard_skips_to_the_content_and_shows_where_it_is(
    system: System, every_page: list[str], browser: Any
) -> None:
    context = browser.new_context(locale="vi-VN", **VIEWPORTS["desktop"])
    try:
        page = context.new_page()
        page.goto(f"{system.notifier_url}/portal/thu-tuc/MB.XD.001.html", wait_until="load")
        page.keyboard.press("Tab")
        skip = page.evaluate(
            "(() => { const e = document.activeElement, r = e.getBoundingClientRect();"
            " return {text: e.textContent.trim(), outline: getComputedStyle(e).outlineStyle,"
            " shown: r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0"
            " && r.bottom <= innerHeight && r.right <= innerWidth}; })()"
        )
        assert skip == {"text": SKIP_TEXT, "outline": "solid", "shown": True}
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "noi-dung"
        # The next Tab is inside the content, past the header's links and search box.
        page.keyboard.press("Tab")
        reached = page.evaluate(
            "({inMain: !!document.activeElement.closest('main'),"
            " outline: getComputedStyle(document.activeElement).outlineStyle})"
        )
        assert reached == {"inMain": True, "outline": "solid"}
    finally:
        context.close()


def test_the_hotline_form_showing_its_errors_passes_axe(
    system: System, every_page: list[str], browser: Any
) -> None:
    context = browser.new_context(locale="vi-VN", **VIEWPORTS["phone"])
    try:
        page = context.new_page()
        page.goto(f"{system.notifier_url}/portal/hoi-dap/gui-phan-anh.html", wait_until="load")
        page.get_by_role("button", name="Gửi phản ánh, kiến nghị").click()  # nothing filled in
        page.locator("#form-errors").wait_for(state="visible")
        assert page.locator(".field-error:visible").count() >= 2
        assert violations(page) == []
        # The procedure's suggestions open, one of them highlighted by keyboard.
        picker = page.get_by_role("combobox", name="Thủ tục hành chính liên quan")
        picker.press_sequentially("xay dung")
        page.get_by_role("option").first.wait_for(state="visible")
        picker.press("ArrowDown")
        assert picker.get_attribute("aria-expanded") == "true"
        assert picker.get_attribute("aria-activedescendant") == "f-procedure-option-0"
        assert violations(page) == []
    finally:
        context.close()


def test_the_subscription_answer_page_passes_axe(system: System, every_page: list[str], browser: Any) -> None:
    """The notifier's own page answering the subscribe form, here refusing an address."""
    field = next(path for path in every_page if path.startswith("linh-vuc/"))
    context = browser.new_context(locale="vi-VN", **VIEWPORTS["phone"])
    try:
        page = context.new_page()
        page.goto(f"{system.notifier_url}/portal/{field}", wait_until="load")
        page.evaluate("document.querySelector('section.subscribe form').noValidate = true")
        page.get_by_label("Nhận thư mỗi khi một thủ tục của lĩnh vực này có thay đổi").fill(
            "khong-phai-email"
        )
        with page.expect_navigation():
            page.get_by_role("button", name="Đăng ký nhận thông báo").click()
        assert page.locator("h1").inner_text() == "Thông tin chưa hợp lệ"
        assert page.evaluate(FIRST_FOCUSABLE) == {"text": SKIP_TEXT, "href": "#noi-dung"}
        assert violations(page) == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_fields_pages_pass_axe_and_lead_to_one_another_by_keyboard(
    tmp_path: Any, redis_server: Any, browser: Any, viewport: str
) -> None:
    """A field paged (tests/browser/paged_lists.py): its first page counts its procedures
    and lists its pages by their codes; each page says which codes it holds and leads back
    and on; together they hold the field's procedures once each."""
    field = "Hoạt động xây dựng"
    context = browser.new_context(locale="vi-VN", **VIEWPORTS[viewport])
    problems: dict[str, list[str]] = {}
    with paged_lists(tmp_path, redis_server.url) as base:
        try:
            page = context.new_page()
            page.goto(f"{base}/portal/linh-vuc/hoat-dong-xay-dung.html", wait_until="load")
            assert f"{len(paged_codes(field))} thủ tục đang có hiệu lực" in page.inner_text("main")
            contents = page.get_by_role("navigation", name="Các trang của lĩnh vực").get_by_role("link")
            ranges = contents.all_inner_texts()
            assert len(ranges) >= 2 and contents.first.get_attribute("aria-current") == "page"
            shown = []
            for n, text in enumerate(ranges):
                if n:  # the next page, by the keyboard alone
                    page.locator("a[rel=next]").focus()
                    with page.expect_navigation():
                        page.keyboard.press("Enter")
                    assert f"{text}." in page.inner_text("main")
                codes = page.eval_on_selector_all(
                    "main ul.procedures a", "as => as.map(a => a.pathname.split('/').pop().slice(0, -5))"
                )
                assert text == label(codes)
                shown += codes
                if found := violations(page):
                    problems[page.url] = found
            assert page.locator("a[rel=next]").count() == 0
            assert shown == paged_codes(field)
        finally:
            context.close()
    assert problems == {}
