"""Take it with you (issue 14), in headless Chromium: a propaganda article's panel (pano)
prints on one A3 portrait sheet, its picture, the hotline and the QR code on it.

The panel is what the portal channel writes, opened from disk: the page asks for nothing
beyond its picture, so no running system is needed to see how it prints.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from minhbach_testing.notifier import article_state, hotline_statistics, pending_delivery
from minhbach_testing.qr import read_qr_png
from notifier.channels.base import ReadModel
from notifier.channels.portal import PortalChannel
from notifier.disclosure.domain import SubjectState
from notifier.hotline.domain import STATISTICS_KEY

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
PORTAL_URL = "https://sxd.thaibinh.gov.vn/portal"
# A3 in PostScript points (297 x 420 mm).
A3_POINTS = (842, 1191)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain PNG of one colour (the article's cover stands in as one)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    made = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 900})
    made.set_default_timeout(10_000)
    try:
        yield made
    finally:
        made.close()


def panel_of(root: Path) -> Path:
    """Render a propaganda article with the hotline known, as the channel does; its panel."""
    (root / "media").mkdir(parents=True)
    (root / "media" / "cover.png").write_bytes(png(160, 90, (11, 92, 171)))
    article = article_state(
        5,
        1,
        category="propaganda",
        title="Nộp hồ sơ trực tuyến: nhanh hơn, ít giấy tờ hơn",
        # Relative to the panel (tuyen-truyen/pano/): the portal passes a relative address on.
        cover_image_url="../../../media/cover.png",
    )
    subjects = [
        SubjectState("article", "5", 1, article, NOW, NOW),
        SubjectState(STATISTICS_KEY[0], STATISTICS_KEY[1], 1, hotline_statistics(), NOW, NOW),
    ]
    channel = PortalChannel(root / "portal", portal_url=PORTAL_URL, clock=lambda: NOW)
    model = ReadModel(subjects)
    outcomes = channel.deliver([pending_delivery(1, "portal", "article", "5", 1, at=NOW)], model)
    assert all(o.ok for o in outcomes.values())
    return root / "portal" / "tuyen-truyen" / "pano" / "nop-ho-so-truc-tuyen-nhanh-hon-it-giay-to-hon.html"


def test_a_panel_prints_on_one_a3_portrait_sheet(context: Any, tmp_path: Path):
    page = context.new_page()
    page.goto(panel_of(tmp_path).as_uri(), wait_until="load")
    assert page.locator("img").evaluate("img => img.naturalWidth") == 160, "the cover did not load"
    page.emulate_media(media="print")
    assert page.locator("nav.screen").is_hidden()
    for shown in ("h1", "img", ".phones", "svg.qr-code"):
        assert page.locator(shown).is_visible(), shown
    size = "parseFloat(getComputedStyle(document.querySelector('{}')).fontSize)"
    assert page.evaluate(size.format("h1")) >= 48 and page.evaluate(size.format(".phones")) >= 40
    qr = page.locator("svg.qr-code").bounding_box()
    assert qr is not None and qr["width"] >= 200, "the QR code is too small to scan from a step away"
    # Read from the page as Chromium draws it, the code leads to the article's page.
    article_url = f"{PORTAL_URL}/tuyen-truyen/nop-ho-so-truc-tuyen-nhanh-hon-it-giay-to-hon.html"
    assert read_qr_png(page.locator("svg.qr-code").screenshot()) == article_url
    assert page.locator(".qr p").inner_text() == f"Quét mã để đọc toàn văn: {article_url}"
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (tmp_path / "pano.pdf").write_bytes(pdf)
    sizes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(sizes) == 1, f"{len(sizes)} pages, not one"
    assert tuple(round(float(n)) for n in sizes[0]) == A3_POINTS
