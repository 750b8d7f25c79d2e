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

import httpx
import pytest

from minhbach_shared.auth import Role
from minhbach_testing.harness import System
from minhbach_testing.plugin import wait_until

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
    """The form rendered, and the demo procedures in the public search it looks them up in."""
    page = system.wait_for_page(FORM, "</html>", timeout=30)
    assert f'data-api="{system.hotline_url}"' in page, "the form must post to the hotline's public URL"
    system.wait_for_page(LOOKUP, "</html>", timeout=10)
    system.wait_for_page("thu-tuc/MB.XD.001.html", "</html>", timeout=30)
    wait_until(
        lambda: "MB.XD.001" in httpx.get(f"{system.notifier_url}/v1/search?q=MB.XD.001").text,
        timeout=30,
        message="the demo procedures in the public search",
    )
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
    # The procedure, found as a citizen types it (no diacritics), chosen by keyboard.
    picker = page.get_by_role("combobox", name="Thủ tục hành chính liên quan")
    picker.press_sequentially("giay phep xay dung")
    page.get_by_role("option").first.wait_for(state="visible")
    options = page.get_by_role("option").all_inner_texts()
    assert any(o.startswith("MB.XD.001 ") for o in options), options
    assert "thủ tục phù hợp" in page.locator("#f-procedure-status").inner_text()
    for _ in range(1 + [o.startswith("MB.XD.001 ") for o in options].index(True)):
        picker.press("ArrowDown")
    picker.press("Enter")  # chooses; the form is not sent yet
    assert page.get_by_role("listbox").is_hidden()
    assert picker.input_value().startswith("MB.XD.001 — ")
    assert page.locator("#receipt").is_hidden()
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
        staff = system.token(Role.HOTLINE)
        listed = api.get("/v1/tickets", params={"size": 100}, headers=staff).json()["items"]
        ticket_id = next(t["id"] for t in listed if t["tracking_code"] == code)
        assert api.get(f"/v1/tickets/{ticket_id}", headers=staff).json()["procedure_code"] == "MB.XD.001"

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


def test_a_procedure_typed_but_not_chosen_is_asked_for_beside_its_field(
    form_ready: System, page: Any
) -> None:
    system = form_ready
    open_form(page, system)
    page.get_by_label("Tiêu đề").fill("Hỏi về thủ tục")
    page.get_by_label("Nội dung").fill("Xin hỏi thời hạn giải quyết của thủ tục này.")
    page.get_by_label("Họ và tên").fill("Trần Văn Bình")
    page.get_by_label("Số điện thoại").fill("0912 000 111")
    picker = page.get_by_role("combobox", name="Thủ tục hành chính liên quan")
    picker.fill("không có thủ tục nào tên thế này")
    status = page.locator("#f-procedure-status")
    page.wait_for_function(
        "document.getElementById('f-procedure-status').textContent.includes('Không tìm thấy')"
    )
    assert "để trống ô này" in status.inner_text()
    page.get_by_role("button", name="Gửi phản ánh, kiến nghị").click()

    error = page.locator('.field-error[data-for="procedure_code"]')
    error.wait_for(state="visible")
    assert error.inner_text().startswith("Vui lòng chọn thủ tục trong danh sách gợi ý")
    assert picker.get_attribute("aria-invalid") == "true"
    assert page.locator("#receipt").is_hidden()

    # Escape with no suggestions open clears the box.
    picker.press("Escape")
    assert picker.input_value() == ""


def test_a_procedure_page_opens_the_form_with_that_procedure_chosen(form_ready: System, page: Any) -> None:
    system = form_ready
    response = page.goto(f"{system.notifier_url}/portal/thu-tuc/MB.XD.002.html", wait_until="load")
    assert response is not None and response.status == 200
    page.get_by_role("link", name="Gửi phản ánh, kiến nghị về thủ tục này").click()
    picker = page.get_by_role("combobox", name="Thủ tục hành chính liên quan")
    page.wait_for_function("document.getElementById('f-procedure-code').value === 'MB.XD.002'")
    assert picker.input_value().startswith("MB.XD.002 — ")
    assert "Đã chọn thủ tục MB.XD.002" in page.locator("#f-procedure-status").inner_text()
