"""The service-centre kiosk in headless Chromium: it updates itself, searches without accents,
fits a kiosk screen and a phone, and each notice prints on A4 (issue 4: the kiosk shows the
hotline's phones and hours; DESIGN.md: the center channel).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from minhbach_testing.harness import System, today_in_vietnam
from tests.browser.paged_lists import codes as paged_codes
from tests.browser.paged_lists import label, paged_lists

KIOSK: dict[str, Any] = {"viewport": {"width": 1920, "height": 1080}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
}
TIMEOUT_MS = 10_000
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def center(system: System) -> System:
    """The demo procedures on the kiosk board, with the hotline's phones."""
    from hotline.settings import DEMO_PHONES

    system.wait_for_page("index.html", "MB.XD.001", timeout=30, channel="center")
    system.wait_for_page("index.html", DEMO_PHONES[0], timeout=30, channel="center")
    return system


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    made = browser.new_context(locale="vi-VN", **getattr(request, "param", KIOSK))
    made.set_default_timeout(TIMEOUT_MS)
    try:
        yield made
    finally:
        made.close()


def open_board(context: Any, system: System) -> Any:
    page = context.new_page()
    response = page.goto(f"{system.notifier_url}/center/", wait_until="load")
    assert response is not None and response.status == 200
    assert page.evaluate("document.documentElement.lang") == "vi"
    return page


def visible_codes(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#board li[data-code]:not([hidden])", "els => els.map(e => e.dataset.code)"
    )


def test_the_board_updates_itself_when_a_procedure_comes_into_force_and_leaves(
    center: System, context: Any, procedure_like, tmp_path: Path
):
    from hotline.settings import DEMO_OFFICE_HOURS, DEMO_PHONES

    page = open_board(context, center)
    assert page.locator("h1").inner_text() == "Thủ tục hành chính đang có hiệu lực"
    assert page.locator(".hotline").get_by_text(DEMO_PHONES[0]).is_visible()
    assert DEMO_OFFICE_HOURS in page.locator(".hotline").inner_text()
    assert page.evaluate(FITS), "the kiosk board scrolls sideways"
    page.locator("#live").wait_for(state="visible")  # the stream is open
    page.evaluate("window.sameDocument = true")

    center.create_procedure(procedure_like("KIOSK.NEW.1", "Cấp giấy phép di dời công trình xây dựng"))
    center.decide(
        "140/QĐ-SXD", [{"action": "new", "procedure_code": "KIOSK.NEW.1"}], effective_on=today_in_vietnam()
    )
    page.locator('#board li[data-code="KIOSK.NEW.1"]').wait_for(state="visible")
    assert page.evaluate("window.sameDocument === true"), "the board must update in place, not reload"
    assert "Cấp giấy phép di dời công trình xây dựng" in page.locator(".recent").inner_text()
    page.screenshot(path=str(tmp_path / "kiosk.png"), full_page=False)

    center.decide(
        "141/QĐ-SXD",
        [{"action": "abolish", "procedure_code": "KIOSK.NEW.1"}],
        effective_on=today_in_vietnam(),
    )
    page.locator('#board li[data-code="KIOSK.NEW.1"]').wait_for(state="detached")
    assert page.evaluate("window.sameDocument === true")
    assert re.search(
        r"Bãi bỏ\s*:\s*Cấp giấy phép di dời công trình xây dựng", page.locator(".recent").inner_text()
    )


TOUCH_KIOSK: dict[str, Any] = {**KIOSK, "has_touch": True}
SERIOUS = {"serious", "critical"}


def result_codes(page: Any) -> list[str]:
    return page.eval_on_selector_all("#results-list .code", "els => els.map(e => e.textContent)")


def tap_keys(page: Any, text: str) -> None:
    """Type on the kiosk's own on-screen keyboard, by touch."""
    for char in text:
        page.locator(f'#keyboard button[data-key="{char}"]').tap()


@pytest.mark.parametrize("context", [TOUCH_KIOSK], indirect=True, ids=["touch-kiosk"])
def test_kiosk_search_by_touch_asks_the_portal_search(center: System, context: Any):
    """A touch screen with no keyboard: the on-screen keyboard types, the portal's search
    answers (ranked, a typo forgiven), a result opens the procedure's A4 notice."""
    from axe_playwright_python.sync_playwright import Axe

    page = open_board(context, center)
    page.locator("#show-keyboard").tap()
    assert page.locator("#keyboard").is_visible()
    assert page.locator("#show-keyboard").get_attribute("aria-expanded") == "true"
    found = Axe().run(page).response["violations"]
    assert [v["id"] for v in found if v.get("impact") in SERIOUS] == [], "the kiosk with its keyboard open"
    # Every key is big enough for a finger (WCAG 2.5.5: 44 CSS pixels).
    sizes = page.eval_on_selector_all(
        "#keyboard button", "els => els.map(e => Math.min(e.offsetWidth, e.offsetHeight))"
    )
    assert min(sizes) >= 44, sizes

    tap_keys(page, "quy hoahc")  # "quy hoạch", two letters swapped
    page.locator("#results").wait_for(state="visible")
    page.wait_for_function("document.querySelectorAll('#results-list li').length > 0")
    assert result_codes(page)[0] == "MB.QH.001"
    corrected = page.locator("#results-corrected").inner_text()
    assert "hoahc →" in corrected and "hoach" in corrected, corrected
    assert page.locator("#board").is_hidden()

    page.locator('#keyboard button[data-action="clear"]').tap()
    tap_keys(page, "mb.xd.004")
    page.wait_for_function(
        "(document.querySelector('#results-list .code') || {}).textContent === 'MB.XD.004'"
    )
    page.locator('#keyboard button[data-action="close"]').tap()
    assert page.locator("#keyboard").is_hidden()
    page.locator("#results-list a").first.tap()
    page.wait_for_url(re.compile(r"/center/thu-tuc/MB\.XD\.004\.html$"))


def test_without_the_search_service_the_board_filters_itself(center: System, context: Any):
    """The search service unreachable: the kiosk still narrows its own board, accents or not."""
    page = context.new_page()
    page.route("**/v1/search*", lambda route: route.abort())
    page.goto(f"{center.notifier_url}/center/", wait_until="load")
    names = dict(
        page.eval_on_selector_all(
            "#board li[data-code]",
            "els => els.map(e => [e.dataset.code, e.querySelector('.name').textContent])",
        )
    )
    everything = visible_codes(page)
    assert len(everything) >= 5 and set(everything) == set(names)
    # Typed without accents, in any case: "gia hạn" and "cấp lại" are in the names only.
    for typed, words in (("GIA HAN giay phep", ("gia hạn", "giấy phép")), ("cap lai", ("cấp lại",))):
        page.locator("#q").fill(typed)
        expected = [c for c in everything if all(w in names[c].lower() for w in words)]
        assert expected and len(expected) < len(everything)
        assert visible_codes(page) == expected, typed
    page.locator("#q").fill("khong co thu tuc nao nhu the nay")
    page.wait_for_timeout(600)  # the search was asked and failed: the board stays
    assert visible_codes(page) == [] and page.locator("#empty").is_visible()
    assert page.locator("#results").is_hidden()
    page.locator("#q").fill("")
    assert visible_codes(page) == everything


@pytest.mark.parametrize("context", [PHONE], indirect=True, ids=["phone"])
def test_board_and_notice_fit_a_phone(center: System, context: Any, tmp_path: Path):
    page = open_board(context, center)
    assert page.evaluate(FITS), "the board scrolls sideways on a phone"
    page.locator('#board li[data-code="MB.XD.001"] a').click()
    page.wait_for_url(re.compile(r"/center/thu-tuc/MB\.XD\.001\.html$"))
    assert page.locator("h1").is_visible() and page.evaluate(FITS), "the notice scrolls sideways on a phone"
    page.screenshot(path=str(tmp_path / "notice-phone.png"), full_page=True)


def test_a_notice_has_no_serious_accessibility_violation(center: System, context: Any):
    """The A4 notice as the kiosk opens it (what changed, the QR code, the buttons)."""
    from axe_playwright_python.sync_playwright import Axe

    page = context.new_page()
    page.goto(f"{center.notifier_url}/center/thu-tuc/MB.XD.001.html", wait_until="load")
    assert page.evaluate("document.documentElement.lang") == "vi"
    found = Axe().run(page).response["violations"]
    serious = [v["id"] for v in found if v.get("impact") in SERIOUS or v["id"] == "color-contrast"]
    assert serious == []


def test_a_notice_prints_on_a4_without_the_kiosk_buttons(center: System, context: Any, tmp_path: Path):
    page = context.new_page()
    page.goto(f"{center.notifier_url}/center/thu-tuc/MB.XD.001.html", wait_until="load")
    assert page.locator("nav.actions").is_visible()
    page.emulate_media(media="print")
    assert page.locator("nav.actions").is_hidden(), "the buttons are not printed"
    pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=False)
    (tmp_path / "MB.XD.001.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 3, f"one procedure's notice took {pages} A4 pages"
    # Printed at A4 width (210 mm - 2 x 14 mm margins at 96 dpi), nothing is cut off on the right.
    page.set_viewport_size({"width": 688, "height": 1000})
    assert page.evaluate(FITS), "the notice is wider than an A4 page"


@pytest.fixture
def paged_board(tmp_path: Path, redis_server: Any) -> Iterator[str]:
    """A centre past its board's limit: the board lists the fields, each field's procedures
    on pages (tests/browser/paged_lists.py). Yields the board's address."""
    with paged_lists(tmp_path, redis_server.url) as base:
        yield f"{base}/center/index.html"


def test_a_paged_board_leads_from_each_field_to_its_pages_by_keyboard(paged_board: str, context: Any):
    from axe_playwright_python.sync_playwright import Axe

    page = context.new_page()
    page.goto(paged_board, wait_until="load")
    links = page.locator("nav.fields.big a")
    assert links.all_inner_texts() == ["Hoạt động xây dựng (12)", "Nhà ở (2)"]
    serious = [v["id"] for v in Axe().run(page).response["violations"] if v.get("impact") in SERIOUS]
    assert serious == [], "the paged board"
    # A field's button opens its first page: the field's count, and a way to each page.
    links.first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/linh-vuc-*.html")
    assert page.inner_text("#count") == "12 thủ tục"
    contents = page.locator('nav[aria-label="Các trang của lĩnh vực"] a')
    pages = [
        urljoin(page.url, href) for href in contents.evaluate_all("as => as.map(a => a.getAttribute('href'))")
    ]
    assert len(pages) >= 2 and pages[0] == page.url
    serious = [v["id"] for v in Axe().run(page).response["violations"] if v.get("impact") in SERIOUS]
    assert serious == [], "a field's page"
    # "Trang sau" leads through those pages in order, by the keyboard alone, and each page
    # says which codes it holds; together they hold the field's procedures, once each.
    shown = [visible_codes(page)]
    assert contents.first.inner_text() == label(shown[0])
    for address in pages[1:]:
        page.locator("a[rel=next]").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(address)
        shown.append(visible_codes(page))
        assert page.inner_text("#count") == label(shown[-1])
    assert page.locator("a[rel=next]").count() == 0
    assert [code for codes in shown for code in codes] == paged_codes("Hoạt động xây dựng")
    serious = [v["id"] for v in Axe().run(page).response["violations"] if v.get("impact") in SERIOUS]
    assert serious == [], "a field's last page"


# Stands in for the board's stream: the test says when the board changed.
FAKE_STREAM = """
window.EventSource = class {
  constructor() { window.__board = this; this.listeners = {}; }
  addEventListener(type, listener) { this.listeners[type] = listener; }
  close() {}
};
window.__announce = (stamp) => window.__board.listeners.board({ data: JSON.stringify({ stamp }) });
"""


def test_a_kiosk_on_a_fields_page_that_went_goes_back_to_the_board(
    paged_board: str, context: Any, tmp_path: Path
):
    # A page of a field goes when its first procedure ends or it joins the page before:
    # a kiosk left showing it must not keep showing procedures that moved.
    page = context.new_page()
    page.add_init_script(FAKE_STREAM)
    page.goto(paged_board, wait_until="load")
    page.locator("nav.fields.big a").first.click()
    page.wait_for_url("**/linh-vuc-*.html")
    page.locator("a[rel=next]").click()
    page.wait_for_url("**/linh-vuc-*-tu-*.html")
    shown = page.url.rsplit("/", 1)[-1]
    (tmp_path / "center" / shown).unlink()
    page.evaluate("window.__announce('a-new-stamp')")
    page.wait_for_url("**/center/index.html")
    assert page.locator("nav.fields.big a").count() == 2
