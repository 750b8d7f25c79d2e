"""Take it with you (issue 14), in headless Chromium: a procedure's portal page prints on A4
as the procedure alone (no site header, search or e-mail form), black on white; the
centre's A4 notice prints its QR code and what its latest amendment changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minhbach_shared.auth import Role
from minhbach_testing.harness import System, today_in_vietnam
from minhbach_testing.qr import read_qr_png

TIMEOUT_MS = 10_000
# A4 (210 mm) less the page's margins, at 96 dpi: what a printed line has.
A4_CONTENT_PX = 680
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    made = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 900})
    made.set_default_timeout(TIMEOUT_MS)
    try:
        yield made
    finally:
        made.close()


def pdf_pages(pdf: bytes) -> int:
    assert pdf.startswith(b"%PDF")
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_a_procedure_page_prints_on_a4_as_the_procedure_alone(system: System, context: Any, tmp_path: Path):
    system.wait_for_page("thu-tuc/MB.XD.001.html", "MB.XD.001", timeout=30)
    page = context.new_page()
    page.goto(f"{system.notifier_url}/portal/thu-tuc/MB.XD.001.html", wait_until="load")
    assert page.locator("header.site").is_visible()
    page.emulate_media(media="print")
    for screen_only in ("header.site", "form.site-search", "section.subscribe"):
        assert page.locator(screen_only).count() == 0 or page.locator(screen_only).is_hidden(), screen_only
    assert page.locator("h1").is_visible() and page.locator("dl.components").is_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert page.evaluate("getComputedStyle(document.querySelector('main')).color") == "rgb(0, 0, 0)"
    pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=False)
    (tmp_path / "MB.XD.001.pdf").write_bytes(pdf)
    assert 1 <= pdf_pages(pdf) <= 4, "one procedure took more than four A4 pages"
    page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1000})
    assert page.evaluate(FITS), "the printed procedure is wider than an A4 page"


def test_an_amended_procedure_s_notice_prints_its_qr_code_and_what_changed(
    system: System, context: Any, procedure_like, tmp_path: Path
):
    code = "BRW.CHG.1"
    system.create_procedure(procedure_like(code, "Cấp giấy phép xây dựng có thời hạn"))
    system.decide("143/QĐ-SXD", [{"action": "new", "procedure_code": code}], effective_on=today_in_vietnam())
    with system.procedures() as api:
        edited = api.patch(
            f"/v1/procedures/{code}",
            json={"processing_time": {"value": 12, "unit": "working_days"}},
            headers=system.token(Role.EDITOR),
        )
        assert edited.status_code == 200, edited.text
    system.decide(
        "144/QĐ-SXD", [{"action": "amend", "procedure_code": code}], effective_on=today_in_vietnam()
    )
    system.wait_for_page(f"thu-tuc/{code}.html", "Điểm mới của phiên bản 2", channel="center")

    page = context.new_page()
    page.goto(f"{system.notifier_url}/center/thu-tuc/{code}.html", wait_until="load")
    page.emulate_media(media="print")
    assert page.locator("figure.qr svg.qr-code").is_visible()
    box = page.locator("figure.qr svg.qr-code").bounding_box()
    assert box is not None and box["width"] >= 100, "a QR code too small to scan from a printed sheet"
    # Read from the sheet as Chromium draws it, the code leads to the procedure's portal page.
    portal_page = f"{system.notifier_url}/portal/thu-tuc/{code}.html"
    assert read_qr_png(page.locator("figure.qr svg.qr-code").screenshot()) == portal_page
    assert "Thời hạn giải quyết: 20 → 12 ngày làm việc" in page.locator(".what-changed").inner_text()
    pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=False)
    (tmp_path / f"{code}.pdf").write_bytes(pdf)
    assert 1 <= pdf_pages(pdf) <= 3
    page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1000})
    assert page.evaluate(FITS), "the notice is wider than an A4 page"
