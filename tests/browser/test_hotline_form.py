"""A citizen sends a phản ánh from the portal in headless Chromium and looks it up (issue 4).

The whole system runs from the Procfile (real redis-server, separate processes). The
notifier serves the static form page; the page's script posts to the hotline API on
another origin, so the hotline is started with that origin in HOTLINE_CORS_ORIGINS.
Debian's Chromium (/usr/bin/chromium) is driven by Playwright; no downloaded browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from minhbach_testing.harness import System

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
}
TRACKING = re.compile(r"^PAKN-\d{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
FORM = "hoi-dap/gui-phan-anh.html"
LOOKUP = "hoi-dap/tra-cuu.html"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def form_ready(system: System) -> System:
    """The form rendered with the demo procedures in its list."""
    page = system.wait_for_page(FORM, 'value="MB.XD.001"', timeout=30)
    assert f'data-api="{system.hotline_url}"' in page, "the form must post to the hotline's public URL"
    system.wait_for_page(LOOKUP, "</html>", timeout=10)
    return system


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="vi-VN", **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def open_form(page: Any, system: System) -> None:
    response = page.goto(f"{system.notifier_url}/portal/{FORM}", wait_until="load")
    assert response is not None and response.status == 200
    assert page.evaluate("document.documentElement.lang") == "vi"
    page.locator("form#pakn").wait_for(state="visible")
    assert page.locator("#nojs").is_hidden()  # the no-JavaScript note gives way to the form
    assert page.locator("#f-website").is_hidden() or page.evaluate(
        "document.getElementById('f-website').getBoundingClientRect().right <= 0"
    )
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "the form scrolls sideways on a phone"


def test_a_citizen_submits_gets_a_tracking_code_and_looks_it_up(form_ready: System, page: Any) -> None:
    system = form_ready
    open_form(page, system)
    page.get_by_label("Kiến nghị (sửa đổi, bổ sung, đơn giản hoá thủ tục)").check()
    page.get_by_label("Tiêu đề").fill("Đề nghị rút ngắn thời gian cấp giấy phép xây dựng nhà ở")
    page.get_by_label("Nội dung").fill(
        "Kính gửi Sở Xây dựng,\nHồ sơ xin giấy phép xây dựng nhà ở riêng lẻ của gia đình tôi "
        "phải bổ sung nhiều lần. Đề nghị Sở công khai rõ thành phần hồ sơ và rút ngắn thời hạn."
    )
    page.select_option("#f-procedure", "MB.XD.001")
    page.get_by_label("Họ và tên").fill("Nguyễn Thị Hương")
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_label("Email").fill("huong.nguyen@example.vn")
    page.get_by_label("Địa chỉ").fill("Số 5 phố Trần Hưng Đạo, TP Thái Bình")
    page.locator("#f-consent").check()
    page.get_by_role("button", name="Gửi phản ánh, kiến nghị").click()

    receipt = page.locator("#receipt")
    receipt.wait_for(state="visible")
    assert "Mã theo dõi:" in receipt.inner_text()
    code = page.locator("#tracking-code").inner_text().strip()
    assert TRACKING.match(code), code
    assert page.locator("form#pakn").is_hidden()

    # The ticket is really there, with what the citizen typed.
    with system.hotline() as api:
        status = api.get(f"/v1/public/tickets/{code}")
        assert status.status_code == 200, status.text
        assert status.json()["kind"] == "kien_nghi"

    response = page.goto(f"{system.notifier_url}/portal/{LOOKUP}", wait_until="load")
    assert response is not None and response.status == 200
    page.get_by_label("Mã theo dõi").fill(code.lower())  # typed any case, looked up upper case
    page.get_by_role("button", name="Tra cứu").click()
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#r-code").inner_text() == code
    assert page.locator("#r-status").inner_text() == "Đã tiếp nhận, đang chờ phân loại"
    dates = page.locator("#r-dates").inner_text()
    assert "Ngày tiếp nhận" in dates and re.search(r"\d{2}/\d{2}/\d{4}", dates), dates
    assert "Kiến nghị" in dates
    # Status and dates only: nothing personal comes back.
    body = page.locator("main").inner_text()
    assert "Hương" not in body and "0912" not in body

    # An unknown code says so, in Vietnamese.
    page.get_by_label("Mã theo dõi").fill("PAKN-2000-999999")
    page.get_by_role("button", name="Tra cứu").click()
    error = page.locator("#lookup-error")
    error.wait_for(state="visible")
    assert "Không tìm thấy" in error.inner_text()


def test_an_empty_body_shows_a_field_error_and_no_code(form_ready: System, page: Any) -> None:
    system = form_ready
    open_form(page, system)
    page.get_by_label("Tiêu đề").fill("Thủ tục cấp chứng chỉ hành nghề")
    page.get_by_label("Họ và tên").fill("Lê Văn Đức")
    page.get_by_label("Số điện thoại").fill("0987 654 321")
    page.get_by_role("button", name="Gửi phản ánh, kiến nghị").click()

    field_error = page.locator('.field-error[data-for="body"]')
    field_error.wait_for(state="visible")
    assert field_error.inner_text() == "Vui lòng nhập nội dung."
    summary = page.locator("#form-errors")
    assert summary.is_visible()
    assert "Nội dung: Vui lòng nhập nội dung." in summary.inner_text()
    assert page.locator("#f-body").get_attribute("aria-invalid") == "true"
    assert page.locator("#receipt").is_hidden()
    assert page.locator("#tracking-code").inner_text() == ""
