"""Take it with you (issue 14): a propaganda article prints as an A3 panel (pano) — large
type, its picture, the Department's hotline and a QR code of the article's portal page.
Written with the article, replaced by the article's notice when it is unpublished.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from sqlalchemy.orm import Session

from minhbach_testing.notifier import article_state, envelope, hotline_statistics
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure
from notifier.hotline import services as hotline_services

TITLE = "Nộp hồ sơ trực tuyến: nhanh hơn, ít giấy tờ hơn"
SLUG = "nop-ho-so-truc-tuyen-nhanh-hon-it-giay-to-hon"
PANEL = f"tuyen-truyen/pano/{SLUG}.html"
PAGE = f"tuyen-truyen/{SLUG}.html"


def read(settings, relative: str) -> str:
    text = (settings.portal_dir / relative).read_bytes().decode("utf-8")
    assert unicodedata.is_normalized("NFC", text), f"{relative} is not NFC"
    return text


@pytest.fixture
def publish(notifier, content_owner):
    def run(*states):
        for state in states:
            content_owner.put("article", state)
        disclosure.ingest(notifier, [envelope("article", str(s["id"]), s["version"]) for s in states])
        return disclosure.run_channel(notifier, "portal")

    return run


@pytest.fixture
def hotline(notifier, hotline_owner):
    """The hotline's phones and hours, as the hotline publishes them with its statistics."""

    def set_phones(*phones: str) -> None:
        hotline_owner.documents["statistics"] = hotline_statistics(phones=list(phones))
        hotline_services.refresh_statistics(notifier)
        disclosure.run_channel(notifier, "portal")

    return set_phones


def propaganda(version: int = 1, **changes):
    return article_state(11, version, category="propaganda", title=TITLE, **changes)


def test_a_propaganda_article_prints_as_an_a3_panel_with_its_picture_hotline_and_qr_code(
    publish, hotline, settings
):
    hotline("0227 3831 234", "1900 1234")
    report = publish(propaganda())
    assert report.sent == 1 and report.failed == 0
    page = read(settings, PAGE)
    assert f'<a href="pano/{SLUG}.html">In pano (A3)</a>' in page
    panel = read(settings, PANEL)
    article_url = f"{settings.portal_url}/{PAGE}"
    for text in [
        '<html lang="vi">',
        "@page { size: A3 portrait;",
        f"<h1>{TITLE}</h1>",
        f'<img src="http://127.0.0.1:8002/v1/attachments/{"a" * 64}" alt="{TITLE}">',
        "Sở Xây dựng tỉnh Thái Bình triển khai kế hoạch cải cách hành chính.",
        '<a href="tel:02273831234">0227 3831 234</a><br><a href="tel:19001234">1900 1234</a>',
        "Giờ làm việc: Sáng 7:00-11:30",
        f"Quét mã để đọc toàn văn: {article_url}",
        f'<a href="../{SLUG}.html">Quay lại bài viết</a>',
    ]:
        assert text in panel, text
    qr = re.search(r"<svg[^>]*class=\"qr-code\"[^>]*>.*?</svg>", panel, re.S)
    assert qr and f"<title>Mã QR: {article_url}</title>" in qr.group(0)
    # Nothing of it looks like an article page to the channel's bookkeeping.
    assert 'name="mb:subject"' not in panel


def test_other_categories_have_no_panel(publish, settings):
    publish(article_state(12, 1, category="news", title="Tin thường"))
    assert "In pano" not in read(settings, "tin-tuc/tin-thuong.html")
    assert not (settings.portal_dir / "tin-tuc/pano").exists()


def test_the_panel_follows_the_hotline_s_phones(publish, hotline, settings):
    publish(propaganda())
    assert "Đường dây nóng" in read(settings, PANEL) and "tel:" not in read(settings, PANEL)
    hotline("0227 3999 888")
    assert '<a href="tel:02273999888">0227 3999 888</a>' in read(settings, PANEL)


def test_unpublished_its_panel_says_so_and_the_audit_reads_the_article_page(publish, notifier, settings):
    publish(propaganda(1))
    publish(propaganda(2, status="unpublished"))
    panel = read(settings, PANEL)
    assert "Bài viết không còn được công bố" in panel and TITLE not in panel.split("<main")[1]
    assert '<a href="../index.html">Xem các bài viết khác' in panel
    assert "In pano" not in read(settings, PAGE)
    channel = notifier.channels["portal"]
    with Session(notifier.engine) as session:
        model = repo.SubjectCache().load(session)
    assert channel.shown_versions(model)[("article", "11")] == 2
    assert [p.name for p, _ in channel._scan_article_pages()["11"]] == [f"{SLUG}.html"]
    # Published again: the panel is back.
    publish(propaganda(3))
    assert f"<h1>{TITLE}</h1>" in read(settings, PANEL)


def test_a_new_slug_moves_the_panel_and_a_new_category_takes_it_away(publish, settings):
    publish(propaganda(1))
    publish(propaganda(2, slug="pano-nop-ho-so"))
    assert not (settings.portal_dir / PANEL).exists()
    assert (settings.portal_dir / "tuyen-truyen/pano/pano-nop-ho-so.html").is_file()
    publish(article_state(11, 3, category="news", title=TITLE, slug="pano-nop-ho-so"))
    assert not list((settings.portal_dir / "tuyen-truyen/pano").glob("*.html"))
    assert (settings.portal_dir / "tin-tuc/pano-nop-ho-so.html").is_file()
