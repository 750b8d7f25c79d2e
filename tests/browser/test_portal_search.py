"""The portal's one search box in headless Chromium with JavaScript off (issue 14): a citizen
types into the header's box on any page, gets the results page, grouped and with the
words marked, follows a result; the page reads on a phone without scrolling sideways.
"""

from __future__ import annotations

from typing import Any

from minhbach_testing.harness import System

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
}
FITS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def test_search_from_any_page_without_javascript(system: System, browser: Any) -> None:
    system.wait_for_page("thu-tuc/MB.XD.005.html", "MB.XD.005", timeout=30)
    context = browser.new_context(locale="vi-VN", java_script_enabled=False, **PHONE)
    try:
        page = context.new_page()
        page.goto(f"{system.pages_url}/portal/thu-tuc/MB.XD.001.html", wait_until="load")
        box = page.get_by_role("search").first.get_by_label("Tìm kiếm")
        box.fill("cap lai giay phep xay dung")  # "Cấp lại giấy phép xây dựng", typed without accents
        box.press("Enter")
        page.wait_for_url("**/portal/tim-kiem?q=*")
        assert page.locator("h1").inner_text() == "Kết quả tìm kiếm cho «cap lai giay phep xay dung»"
        first = page.locator("#procedure + ol.hits li").first
        assert "MB.XD.005" in first.inner_text()
        assert first.locator("mark").all_inner_texts()[:2] == ["Cấp", "lại"]
        assert page.evaluate(FITS), "the results scroll sideways on a phone"
        first.locator("a.title").click()
        page.wait_for_url("**/portal/thu-tuc/MB.XD.005.html")
        assert page.locator("h1").inner_text().startswith("Cấp lại giấy phép xây dựng")

        # A document number, and one kind only (the select works without a script too).
        page.goto(f"{system.pages_url}/portal/tim-kiem", wait_until="load")
        page.get_by_label("Tìm thủ tục, văn bản, tin bài, hỏi đáp").fill("61/2018/NĐ-CP")
        page.get_by_label("Tìm trong").select_option("document")
        page.get_by_role("button", name="Tìm kiếm").click()
        page.wait_for_url("**loai=document*")
        assert "61/2018/NĐ-CP" in page.locator("ol.hits li").first.inner_text()
        assert page.locator("#procedure").count() == 0
    finally:
        context.close()
