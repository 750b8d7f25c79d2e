"""The portal pages read well in headless Chromium, on a phone and on a desktop (issue 3).

The whole system runs from the Procfile (real redis-server, separate processes); the
notifier serves the pages it rendered over HTTP, and Debian's Chromium (/usr/bin/chromium,
driven by Playwright; no downloaded browser) opens each one on two viewports. A page must
not scroll sideways, must say it is Vietnamese, must show its title and every picture it
has (covers, propaganda panels, fetched from the content service) must load; a full-page
screenshot of each is kept under pytest's tmp_path for a person to look at.

Every procedure page stays small (issue 14): under 60 KB of HTML and CSS, and every request
it makes goes to the system's own origin (no fonts, scripts or counters from elsewhere).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from minhbach_testing.harness import System
from minhbach_testing.plugin import png

VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True},
    "desktop": {"viewport": {"width": 1366, "height": 900}},
}
MIN_PNG_BYTES = 8 * 1024
MAX_PAGE_BYTES = 60 * 1024  # a procedure page's HTML and CSS

LONG_TITLE = (
    "Sở Xây dựng tỉnh Thái Bình triển khai đồng bộ các giải pháp đẩy mạnh cải cách thủ tục "
    "hành chính, nâng cao chỉ số hài lòng của người dân và doanh nghiệp trong lĩnh vực cấp "
    "giấy phép xây dựng, quy hoạch và phát triển đô thị giai đoạn 2026–2030"
)
LONG_WORD = (
    "https://dichvucong.thaibinh.gov.vn/portaldvc/KenhTin/dich-vu-cong-truc-tuyen.aspx"
    "?_dv=CAPGIAYPHEPXAYDUNGNHAORIENGLEDOTHI&maThuTuc=1.009994.000.00.00.H51&ngonNgu=vi"
)
BODY = f"""Ngày 15/3, Sở Xây dựng tổ chức hội nghị triển khai kế hoạch cải cách hành chính.

Tra cứu hồ sơ tại: {LONG_WORD}

Các nhiệm vụ trọng tâm:

- Rút ngắn thời gian giải quyết thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ xuống còn 10 ngày làm việc.
- Tiếp nhận và trả kết quả hồ sơ trực tuyến toàn trình, thanh toán phí qua Cổng dịch vụ công quốc gia.
- Công khai đầy đủ thủ tục, biểu mẫu và kết quả đánh giá mức độ hài lòng.

| Chỉ tiêu | Năm 2025 | Năm 2026 | Ghi chú về phương pháp đánh giá và nguồn số liệu |
|---|---|---|---|
| Hồ sơ trực tuyến toàn trình | 62% | 80% | Theo số liệu của Cổng dịch vụ công tỉnh, cập nhật hằng quý |
| Hồ sơ giải quyết đúng hạn | 97,5% | 99% | Không tính hồ sơ tạm dừng để bổ sung, hoàn thiện theo yêu cầu |
| Mức độ hài lòng | 91% | 95% | Khảo sát trực tiếp tại Bộ phận Một cửa và qua Zalo |
"""


def publish_article(system: System, **fields: Any) -> str:
    """The long news article by default, in the category and with the fields given; its slug."""
    return system.publish_article(
        {"category": "news", "title": LONG_TITLE, "summary": "Hội nghị triển khai.", "body": BODY, **fields}
    )


@pytest.fixture(scope="module")
def portal_pages(system: System) -> list[str]:
    """The demo procedures and documents (the system loads them), one long news article and
    one article in each other category (an initiative with a cover, a report, propaganda
    panels), rendered; the paths to open."""
    slug = publish_article(system)
    article = f"tin-tuc/{slug}.html"
    # Pictures wider than any phone: a cover and two propaganda panels, served by the content service.
    cover = system.upload_image("mo-hinh-mot-cua.png", png(1600, 900, (30, 110, 190)))
    panels = [
        system.upload_image(f"pano-{i}.png", png(1200, 1700, colour))
        for i, colour in enumerate([(200, 40, 40), (240, 180, 20)], start=1)
    ]
    initiative_slug = publish_article(
        system,
        category="initiatives",
        title="Mô hình “Một cửa thân thiện, phục vụ tận tâm” tại Bộ phận Một cửa Sở Xây dựng",
        summary="Người dân được hướng dẫn tận tình, hồ sơ giải quyết sớm hạn.",
        body="Mô hình giúp rút ngắn thời gian chờ của người dân tại Bộ phận Một cửa.",
        cover_image=cover,
    )
    initiative = f"sang-kien/{initiative_slug}.html"
    plan_slug = publish_article(
        system,
        category="plans_reports",
        title="Báo cáo kết quả thực hiện công tác cải cách hành chính quý I năm 2026",
        summary="Báo cáo định kỳ của Sở Xây dựng.",
        body="| Chỉ tiêu | Kết quả |\n|---|---|\n| Hồ sơ đúng hạn | 99,2% |\n",
    )
    plan = f"ke-hoach-bao-cao/{plan_slug}.html"
    propaganda_slug = publish_article(
        system,
        category="propaganda",
        title="Pano tuyên truyền cải cách hành chính năm 2026",
        summary="Bộ pano treo tại trụ sở và Trung tâm Phục vụ hành chính công.",
        body="Mời xem các pano bên dưới.",
        attachments=panels,
    )
    propaganda = f"tuyen-truyen/{propaganda_slug}.html"
    waits = {
        "thu-tuc/MB.XD.001.html": "MB.XD.001",
        "thu-tuc/index.html": "MB.XD.001",
        "quyet-dinh/index.html": "</html>",
        "van-ban/61-2018-nd-cp.html": "107/2021/NĐ-CP",
        "van-ban/index.html": "15/KH-UBND",
        article: "Năm 2026",
        "tin-tuc/index.html": f"{slug}.html",
        "index.html": "</html>",
        initiative: "Một cửa thân thiện",
        "sang-kien/index.html": f"{initiative_slug}.html",
        plan: "99,2%",
        "ke-hoach-bao-cao/index.html": f"{plan_slug}.html",
        propaganda: panels[1],
        "tuyen-truyen/index.html": f"{propaganda_slug}.html",
    }
    for path, contains in waits.items():
        system.wait_for_page(path, contains, timeout=30)
    return [
        "index.html",
        "thu-tuc/index.html",
        "thu-tuc/MB.XD.001.html",
        "quyet-dinh/index.html",
        "tin-tuc/index.html",
        article,
        "van-ban/index.html",
        "van-ban/61-2018-nd-cp.html",
        "sang-kien/index.html",
        initiative,
        "ke-hoach-bao-cao/index.html",
        plan,
        "tuyen-truyen/index.html",
        propaganda,
    ]


# Pages that must show pictures (so that "every image loaded" is not true of none).
IMAGES_AT_LEAST = {
    "sang-kien/index.html": 1,
    "sang-kien/": 1,
    "tuyen-truyen/index.html": 1,
    "tuyen-truyen/": 2,
}


def images_expected(path: str) -> int:
    return IMAGES_AT_LEAST.get(path, IMAGES_AT_LEAST.get(path.rsplit("/", 1)[0] + "/", 0))


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_portal_pages_fit_the_viewport_and_show_their_title(
    system: System, portal_pages: list[str], browser: Any, viewport: str, tmp_path: Path
):
    shots = tmp_path / f"screenshots-{viewport}"
    shots.mkdir()
    print(f"screenshots ({viewport}): {shots}")
    context = browser.new_context(locale="vi-VN", **VIEWPORTS[viewport])
    problems: list[str] = []
    try:
        page = context.new_page()
        for path in portal_pages:
            response = page.goto(f"{system.notifier_url}/portal/{path}", wait_until="load")
            assert response is not None and response.status == 200, (path, response and response.status)
            assert page.evaluate("document.documentElement.lang") == "vi", path
            heading = page.locator("h1").first
            assert heading.is_visible(), path
            assert heading.inner_text().strip(), path
            widths = page.evaluate(
                "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
                " wide: [...document.querySelectorAll('body *')]"
                "   .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)"
                "   .filter(e => !e.closest('.scroll, .article-body table'))"
                "   .slice(0, 5).map(e => e.tagName + '.' + e.className)})"
            )
            if widths["scroll"] > widths["inner"]:
                wide = f"scrollWidth {widths['scroll']} > {widths['inner']}, widest: {widths['wide']}"
                problems.append(f"{path}: {wide}")
            # a wide table scrolls in its box rather than breaking a short word (a number, a date,
            # "97,5%", "15/KH-UBND") letter by letter to fit; breaking after its hyphen is fine
            broken = page.evaluate(
                "[...document.querySelectorAll('td, th')].filter(cell => {"
                "  const text = cell.textContent.trim();"
                "  if (!text || /\\s/.test(text) || text.length > 20) return false;"
                "  const range = document.createRange(); range.selectNodeContents(cell);"
                "  const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;"
                "  return lines > text.split('-').length;"  # a break after a hyphen is a normal one
                "}).slice(0, 5).map(cell => cell.textContent.trim())"
            )
            if broken:
                problems.append(f"{path}: table cells broken mid-word: {broken}")
            images = page.evaluate(
                "[...document.images].map(i => ({src: i.currentSrc || i.src, loaded: i.complete"
                " && i.naturalWidth > 0}))"
            )
            if len(images) < images_expected(path):
                problems.append(f"{path}: {len(images)} images shown, {images_expected(path)} expected")
            unloaded = [i["src"] for i in images if not i["loaded"]]
            if unloaded:
                problems.append(f"{path}: images that did not load: {unloaded}")
            shot = shots / (path.replace("/", "__") + ".png")
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > MIN_PNG_BYTES, (shot, shot.stat().st_size)
    finally:
        context.close()
    assert not problems, "pages that do not fit:\n" + "\n".join(problems)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_every_procedure_page_is_small_and_asks_only_its_own_origin(system: System, browser: Any) -> None:
    listing = system.wait_for_page("thu-tuc/index.html", "MB.XD.001", timeout=30)
    pages = sorted(set(re.findall(r'href="\.\./thu-tuc/([^"/]+\.html)"', listing)) - {"index.html"})
    assert "MB.XD.001.html" in pages, pages
    context = browser.new_context(locale="vi-VN", **VIEWPORTS["phone"])
    problems: list[str] = []
    try:
        page = context.new_page()
        requests: list[str] = []
        responses: list[Any] = []
        page.on("request", lambda request: requests.append(request.url))
        page.on("response", lambda response: responses.append(response))
        for name in pages:
            requests.clear()
            responses.clear()
            response = page.goto(f"{system.notifier_url}/portal/thu-tuc/{name}", wait_until="networkidle")
            assert response is not None and response.status == 200, name
            weight = sum(
                len(r.body()) for r in responses if r.request.resource_type in ("document", "stylesheet")
            )
            assert weight > 0, name  # the page itself was weighed
            if weight >= MAX_PAGE_BYTES:
                problems.append(f"{name}: {weight} bytes of HTML and CSS")
            if elsewhere := [url for url in requests if origin(url) != origin(system.notifier_url)]:
                problems.append(f"{name}: requests to another origin: {elsewhere}")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
