"""Follow what matters and take it along (issue 14), on the running system with its demo data:
every Atom feed the portal announces is read over HTTP as a feed reader reads it
(feedparser), and every link in it opens; the demo's propaganda article prints as an A3
panel with its QR code and the hotline.
"""

from __future__ import annotations

import re
import unicodedata

import feedparser
import httpx

from minhbach_testing.harness import System


def feed_links(html: str) -> list[str]:
    return re.findall(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"', html)


def test_every_feed_parses_and_every_link_opens(system: System) -> None:
    # The demo's answers and articles are disclosed: the pages announcing feeds exist.
    answers = system.wait_for_page("hoi-dap/index.html", "feed.xml", timeout=60)
    system.wait_for_page("tuyen-truyen/index.html", "<li data-id=", timeout=60)
    announced = {
        "feed.xml",
        "hoi-dap/feed.xml",
        "van-ban/feed.xml",
        "tin-tuc/feed.xml",
        "tuyen-truyen/feed.xml",
    }
    field_page = re.search(
        r'href="\.\./(linh-vuc/[^"/]+)\.html"', system.portal_page("thu-tuc/index.html").text
    )
    assert field_page, "the list of procedures links its fields"
    announced.add(f"{field_page.group(1)}.xml")
    assert any(link.endswith("feed.xml") for link in feed_links(answers))
    base = f"{system.pages_url}/portal/"
    for path in sorted(announced):
        raw = system.portal_page(path)
        assert raw.status_code == 200, path
        feed = feedparser.parse(raw.content)
        assert not feed.bozo, (path, feed.get("bozo_exception"))
        assert feed.entries, f"{path} is empty on the demo"
        for entry in feed.entries:
            assert unicodedata.is_normalized("NFC", entry.title) and entry.title.strip(), (path, entry.title)
            # Absolute, from the portal's public address: a reader without xml:base follows it.
            assert entry.link.startswith(base), (path, entry.link)
            assert httpx.get(entry.link, timeout=10).status_code == 200, (path, entry.link)
        self_links = [link.href for link in feed.feed.links if link.rel == "self"]
        assert self_links == [base + path], (path, self_links)


def test_the_demo_propaganda_article_prints_as_a_panel(system: System) -> None:
    listing = system.wait_for_page("tuyen-truyen/index.html", "<li data-id=", timeout=60)
    article = re.search(r'<li data-id="[^"]+"[^>]*>(?:<img[^>]*>)?<a href="([^"/]+\.html)"', listing)
    assert article, "the propaganda list links its articles"
    page = system.portal_page(f"tuyen-truyen/{article.group(1)}").text
    panel = re.search(r'href="(pano/[^"]+\.html)"[^>]*>\s*In pano \(A3\)', page)
    assert panel, "the article offers its panel"
    sheet = system.portal_page(f"tuyen-truyen/{panel.group(1)}").text
    assert "@page { size: A3 portrait" in sheet
    assert (
        'class="qr-code"' in sheet and f"{system.pages_url}/portal/tuyen-truyen/{article.group(1)}" in sheet
    )
    assert "Đường dây nóng" in sheet
