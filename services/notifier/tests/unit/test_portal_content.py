"""The portal shows the content service's articles and documents (issue 3)."""

import re
import unicodedata
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from minhbach_shared.text import slugify
from minhbach_testing.notifier import article_state, demo_documents, document_state, envelope, procedure_state
from notifier.disclosure import services as disclosure

ATOM = {"a": "http://www.w3.org/2005/Atom"}
CONTENT = {"article", "document"}


def publish(notifier, owner, content_owner, *states):
    """Put each state on its owner, ingest one event per subject, run the portal once."""
    events = []
    for kind, state in states:
        (content_owner if kind in CONTENT else owner).put(kind, state)
        events.append(envelope(kind, str(state.get("code") or state["id"]), state["version"]))
    disclosure.ingest(notifier, events)
    return disclosure.run_channel(notifier, "portal")


def read(settings, relative):
    text = (settings.portal_dir / relative).read_bytes().decode("utf-8")
    assert unicodedata.is_normalized("NFC", text), f"{relative} is not NFC"
    return text


def feed_ids(settings, relative):
    root = ET.fromstring((settings.portal_dir / relative).read_bytes())  # noqa: S314 - our own file
    return [e.findtext("a:id", namespaces=ATOM) for e in root.findall("a:entry", ATOM)]


def page_of(state, folder="tin-tuc"):
    return f"{folder}/{state['slug']}.html"


@pytest.fixture
def publish_all(notifier, owner, content_owner):
    return lambda *states: publish(notifier, owner, content_owner, *states)


def test_published_article_is_on_its_list_page_and_feed(publish_all, settings):
    article = article_state(
        7,
        1,
        title="Sở Xây dựng đẩy mạnh cải cách hành chính năm 2026",
        # 18:00 UTC is the next morning in Vietnam.
        publish_at="2026-11-20T18:00:00Z",
        updated_at="2026-11-25T03:00:00Z",
        tags=["một cửa", "dịch vụ công"],
        procedure_codes=["MB.XD.001"],
    )
    report = publish_all(("procedure", procedure_state("MB.XD.001", 1)), ("article", article))
    assert report.sent == 2 and report.failed == 0
    assert article["slug"] == "so-xay-dung-day-manh-cai-cach-hanh-chinh-nam-2026"

    page = read(settings, page_of(article))
    assert '<meta name="mb:version" content="1">' in page and '<html lang="vi">' in page
    for text in [
        "<h1>Sở Xây dựng đẩy mạnh cải cách hành chính năm 2026</h1>",
        "Ngày đăng: 21/11/2026",
        "Cập nhật: 25/11/2026",
        "Sở Xây dựng tỉnh Thái Bình triển khai kế hoạch cải cách hành chính.",
        "<p>Năm 2026, Sở <strong>đẩy mạnh</strong> cải cách hành chính.</p>",
        f'<img src="http://127.0.0.1:8002/v1/attachments/{"a" * 64}"',
        f'<a href="http://127.0.0.1:8002/v1/attachments/{"b" * 64}">ke-hoach-cai-cach.pdf</a>',
        "(PDF, 240 KB)",
        '<span class="tag">một cửa</span>',
        '<a href="../thu-tuc/MB.XD.001.html">MB.XD.001</a> — Cấp giấy phép xây dựng mới',
        '<a href="index.html">Tin cải cách hành chính</a>',
    ]:
        assert text in page, text

    listing = read(settings, "tin-tuc/index.html")
    assert "<h1>Tin cải cách hành chính</h1>" in listing
    assert f'<a href="{article["slug"]}.html">Sở Xây dựng đẩy mạnh' in listing
    assert feed_ids(settings, "tin-tuc/feed.xml") == ["urn:minhbach:article:7:v1"]
    home = read(settings, "index.html")
    assert f'<a href="tin-tuc/{article["slug"]}.html">Sở Xây dựng đẩy mạnh' in home
    for section in ("tin-tuc", "sang-kien", "ke-hoach-bao-cao", "tuyen-truyen", "van-ban"):
        assert f'href="{section}/index.html"' in home


def test_list_is_newest_first_and_feed_ids_follow_the_version(publish_all, settings):
    older = article_state(1, 1, title="Tin thứ nhất", publish_at="2026-11-01T01:00:00Z")
    newer = article_state(2, 1, title="Tin thứ hai", publish_at="2026-11-10T01:00:00Z")
    publish_all(("article", older), ("article", newer))
    listing = read(settings, "tin-tuc/index.html")
    assert listing.index("Tin thứ hai") < listing.index("Tin thứ nhất")
    publish_all(("article", article_state(1, 2, title="Tin thứ nhất", updated_at="2026-11-26T01:00:00Z")))
    assert feed_ids(settings, "tin-tuc/feed.xml") == [
        "urn:minhbach:article:1:v2",
        "urn:minhbach:article:2:v1",
    ]
    assert '<meta name="mb:version" content="2">' in read(settings, "tin-tuc/tin-thu-nhat.html")


@pytest.mark.parametrize(
    ("category", "folder", "title"),
    [
        ("news", "tin-tuc", "Tin cải cách hành chính"),
        ("initiatives", "sang-kien", "Sáng kiến, mô hình hay"),
        ("plans_reports", "ke-hoach-bao-cao", "Kế hoạch, báo cáo"),
        ("propaganda", "tuyen-truyen", "Tài liệu tuyên truyền"),
    ],
)
def test_an_article_renders_under_its_category_directory(publish_all, settings, category, folder, title):
    article = article_state(3, 1, category=category, title="Mô hình “Một cửa thân thiện” ở Đông Hưng")
    publish_all(("article", article))
    assert article["slug"] == "mo-hinh-mot-cua-than-thien-o-dong-hung"
    assert "Mô hình “Một cửa thân thiện” ở Đông Hưng" in read(settings, page_of(article, folder))
    listing = read(settings, f"{folder}/index.html")
    assert f"<h1>{title}</h1>" in listing and f"{article['slug']}.html" in listing
    assert feed_ids(settings, f"{folder}/feed.xml") == ["urn:minhbach:article:3:v1"]
    others = {"tin-tuc", "sang-kien", "ke-hoach-bao-cao", "tuyen-truyen"} - {folder}
    for other in others:
        assert article["slug"] not in read(settings, f"{other}/index.html")
        assert feed_ids(settings, f"{other}/feed.xml") == []


def test_propaganda_panels_show_their_images(publish_all, settings):
    panel = {
        "id": "c" * 64,
        "filename": "pano-cai-cach-hanh-chinh.png",
        "content_type": "image/png",
        "size": 2_400_000,
        "url": "/v1/attachments/" + "c" * 64,
    }
    article = article_state(
        4, 1, category="propaganda", title="Pano tuyên truyền", attachments=[panel], cover_image_url=None
    )
    publish_all(("article", article))
    page = read(settings, page_of(article, "tuyen-truyen"))
    assert (
        f'<img src="http://127.0.0.1:8002/v1/attachments/{"c" * 64}" alt="pano-cai-cach-hanh-chinh.png">'
        in page
    )
    assert "(Ảnh, 2,3 MB)" in page
    # The list shows the panel too: without a cover, the first image stands for the article.
    assert f'<img class="thumb" src="http://127.0.0.1:8002/v1/attachments/{"c" * 64}"' in read(
        settings, "tuyen-truyen/index.html"
    )


def test_unpublished_and_expired_articles_leave_every_list_and_feed(publish_all, settings):
    code = "MB.XD.001"
    a = article_state(1, 1, title="Tin sẽ bị gỡ", procedure_codes=[code])
    b = article_state(2, 1, title="Tin sẽ hết hạn", expire_at="2026-12-31T17:00:00Z", procedure_codes=[code])
    c = article_state(3, 1, title="Tin vẫn còn")
    publish_all(("procedure", procedure_state(code, 1)), ("article", a), ("article", b), ("article", c))
    assert "Tin sẽ bị gỡ" in read(settings, f"thu-tuc/{code}.html")

    publish_all(
        ("article", article_state(1, 2, title="Tin sẽ bị gỡ", status="unpublished", procedure_codes=[code])),
        ("article", article_state(2, 2, title="Tin sẽ hết hạn", status="expired", procedure_codes=[code])),
    )
    lists = [read(settings, p) for p in ("tin-tuc/index.html", "index.html", f"thu-tuc/{code}.html")]
    feed = read(settings, "tin-tuc/feed.xml")
    for gone in ("Tin sẽ bị gỡ", "Tin sẽ hết hạn", "tin-se-bi-go", "tin-se-het-han"):
        assert all(gone not in text for text in lists), gone
        assert gone not in feed, gone
    assert feed_ids(settings, "tin-tuc/feed.xml") == ["urn:minhbach:article:3:v1"]
    assert "Tin vẫn còn" in lists[0] and "Tin vẫn còn" in lists[1]
    # Their pages keep the address with a short notice and nothing of the article.
    for state, version in ((a, 2), (b, 2)):
        page = read(settings, page_of(state))
        assert "Bài viết không còn được công bố" in page
        assert f'<meta name="mb:version" content="{version}">' in page
        assert state["title"] not in page and state["summary"] not in page and "đẩy mạnh" not in page


def test_an_expiry_already_past_keeps_it_off_the_lists_even_before_its_event(publish_all, settings):
    late = article_state(5, 1, title="Tin đã quá hạn", expire_at="2020-01-01T00:00:00Z")
    publish_all(("article", late))
    assert "Tin đã quá hạn" not in read(settings, "tin-tuc/index.html")
    assert feed_ids(settings, "tin-tuc/feed.xml") == []
    assert "Bài viết không còn được công bố" in read(settings, page_of(late))


def test_an_expiry_passing_takes_the_article_off_its_section_at_the_next_run_whatever_it_delivers(
    notifier, publish_all, settings
):
    portal = notifier.channels["portal"]
    portal.clock = lambda: datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    title = "Tin hết hạn lúc nửa đêm"
    publish_all(
        ("procedure", procedure_state("MB.XD.001", 1)),
        ("article", article_state(4, 1, title=title, expire_at="2026-12-31T17:00:00Z")),
    )
    assert title in read(settings, "tin-tuc/index.html")
    assert feed_ids(settings, "tin-tuc/feed.xml") == ["urn:minhbach:article:4:v1"]
    # Midnight in Vietnam passes; before the content service's event, a procedure changes.
    portal.clock = lambda: datetime(2026, 12, 31, 17, 1, tzinfo=UTC)
    publish_all(("procedure", procedure_state("MB.XD.001", 2)))
    assert title not in read(settings, "tin-tuc/index.html")
    assert feed_ids(settings, "tin-tuc/feed.xml") == []


def test_a_changed_slug_moves_the_page(publish_all, settings):
    first = article_state(6, 1, title="Tiêu đề cũ")
    publish_all(("article", first))
    moved = article_state(6, 2, title="Tiêu đề mới", category="initiatives")
    publish_all(("article", moved))
    assert not (settings.portal_dir / page_of(first)).exists()
    assert "Tiêu đề mới" in read(settings, page_of(moved, "sang-kien"))
    assert "Tiêu đề cũ" not in read(settings, "tin-tuc/index.html")


def test_hostile_slugs_never_leave_the_category_directory(publish_all, settings):
    publish_all(
        ("article", article_state(8, 1, title="Chỉ mục", slug="index")),
        ("article", article_state(9, 1, title="Thoát thư mục", slug="../../etc/passwd")),
    )
    assert "Chỉ mục" in read(settings, "tin-tuc/index-8.html")
    assert "<h1>Tin cải cách hành chính</h1>" in read(settings, "tin-tuc/index.html")
    assert "Thoát thư mục" in read(settings, "tin-tuc/etc-passwd.html")
    assert not (settings.portal_dir.parent / "etc").exists()


def test_unknown_category_is_a_failed_delivery_not_a_crash(publish_all, settings):
    report = publish_all(("article", article_state(10, 1, category="gossip")))
    assert report.failed == 1 and report.sent == 0


def test_procedure_page_links_the_articles_and_documents_citing_it(publish_all, settings):
    code = "MB.XD.001"
    publish_all(("procedure", procedure_state(code, 1)))
    assert "Tin bài, văn bản liên quan" not in read(settings, f"thu-tuc/{code}.html")

    # Only the article changes: the procedure's page is re-rendered all the same.
    article = article_state(
        11, 1, title="Hướng dẫn xin giấy phép xây dựng trực tuyến", procedure_codes=[code]
    )
    document = document_state(20, 1, number="15/2021/NĐ-CP", type="Nghị định", procedure_codes=[code])
    publish_all(("article", article), ("document", document))
    page = read(settings, f"thu-tuc/{code}.html")
    assert f'<a href="../{page_of(article)}">Hướng dẫn xin giấy phép xây dựng trực tuyến</a>' in page
    assert '<a href="../van-ban/15-2021-nd-cp.html">Nghị định số 15/2021/NĐ-CP</a>' in page
    assert '<meta name="mb:version" content="1">' in page

    # It no longer cites the procedure: the procedure's page drops it.
    publish_all(("article", article_state(11, 2, title="Hướng dẫn xin giấy phép xây dựng trực tuyến")))
    page = read(settings, f"thu-tuc/{code}.html")
    assert "Hướng dẫn xin giấy phép" not in page and "15/2021/NĐ-CP" in page


def test_the_six_demo_documents_show_their_relations_both_ways(publish_all, settings):
    report = publish_all(*(("document", d) for d in demo_documents()))
    assert report.sent == 6
    table = read(settings, "van-ban/index.html")
    for header in (
        "Số hiệu",
        "Loại",
        "Cơ quan ban hành",
        "Ngày ký",
        "Ngày hiệu lực",
        "Trích yếu",
        "Tình trạng hiệu lực",
    ):
        assert f"<th>{header}</th>" in table
    for d in demo_documents():
        assert f'<a href="{slugify(d["number"])}.html">{d["number"]}</a>' in table
    assert "23/04/2018" in table and "Còn hiệu lực" in table

    amended = read(settings, "van-ban/61-2018-nd-cp.html")
    assert 'Được sửa đổi, bổ sung bởi: <a href="107-2021-nd-cp.html">107/2021/NĐ-CP</a>' in amended
    assert '<meta name="mb:version" content="2">' in amended
    amending = read(settings, "van-ban/107-2021-nd-cp.html")
    assert 'Sửa đổi, bổ sung: <a href="61-2018-nd-cp.html">61/2018/NĐ-CP</a>' in amending
    assert "<dt>Tình trạng hiệu lực</dt><dd>Còn hiệu lực</dd>" in amending
    assert "<h2>Quan hệ với văn bản khác</h2>\n<p>Không có.</p>" in read(settings, "van-ban/76-nq-cp.html")


def table_rows(table):
    """The documents table's rows: number -> what a reader sees in each cell, by its header."""
    headers = re.findall(r"<th>(.*?)</th>", table)
    rows = {}
    for row in re.findall(r"(?s)<tr data-id=.*?</tr>", table):
        cells = re.findall(r"(?s)<td[^>]*>(.*?)</td>", row)
        texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in cells]
        rows[texts[0]] = dict(zip(headers, texts, strict=True)) | {"html": row}
    return rows


def test_the_documents_table_shows_each_relation_both_ways_with_links(publish_all, settings):
    publish_all(*(("document", d) for d in demo_documents()))
    table = read(settings, "van-ban/index.html")
    assert "<th>Quan hệ</th>" in table and "<th>Tình trạng hiệu lực</th>" in table
    rows = table_rows(table)
    assert set(rows) == {d["number"] for d in demo_documents()}
    amended, amending = rows["61/2018/NĐ-CP"], rows["107/2021/NĐ-CP"]
    assert amended["Quan hệ"] == "Được sửa đổi, bổ sung bởi 107/2021/NĐ-CP"
    assert '<a href="107-2021-nd-cp.html">107/2021/NĐ-CP</a>' in amended["html"]
    assert amending["Quan hệ"] == "Sửa đổi, bổ sung 61/2018/NĐ-CP"
    assert '<a href="61-2018-nd-cp.html">61/2018/NĐ-CP</a>' in amending["html"]
    assert amended["Tình trạng hiệu lực"] == "Còn hiệu lực"
    assert rows["76/NQ-CP"]["Quan hệ"] == "Không"


def test_the_documents_table_shows_a_replaced_document_out_of_force(publish_all, settings):
    old = document_state(1, 2, number="10/2020/QĐ-UBND", in_force=False)
    new = document_state(
        2, 1, number="05/2026/QĐ-UBND", relations=[{"kind": "replaces", "number": "10/2020/QĐ-UBND"}]
    )
    # It also amends a document the portal has not got: named, but no link to a missing page.
    new["relations"].append({"kind": "amends", "number": "99/2019/NĐ-CP"})
    publish_all(("document", old), ("document", new))
    rows = table_rows(read(settings, "van-ban/index.html"))
    assert rows["10/2020/QĐ-UBND"]["Quan hệ"] == "Được thay thế bởi 05/2026/QĐ-UBND"
    replaced = rows["10/2020/QĐ-UBND"]["Tình trạng hiệu lực"]
    assert replaced == "Hết hiệu lực (được thay thế bởi 05/2026/QĐ-UBND)"
    assert rows["05/2026/QĐ-UBND"]["Quan hệ"] == "Sửa đổi, bổ sung 99/2019/NĐ-CP Thay thế 10/2020/QĐ-UBND"
    assert '<a href="10-2020-qd-ubnd.html">10/2020/QĐ-UBND</a>' in rows["05/2026/QĐ-UBND"]["html"]
    assert "99-2019-nd-cp.html" not in rows["05/2026/QĐ-UBND"]["html"]
    assert "99-2019-nd-cp.html" not in read(settings, "van-ban/05-2026-qd-ubnd.html")


def test_the_amended_document_shows_it_even_before_its_own_event(publish_all, settings):
    docs = demo_documents(inverse=False)
    publish_all(*(("document", d) for i, d in enumerate(docs) if i != 2))
    assert "Được sửa đổi" not in read(settings, "van-ban/61-2018-nd-cp.html")
    publish_all(("document", docs[2]))  # 107/2021 only: 61/2018's page is re-rendered
    assert "Được sửa đổi, bổ sung bởi: " in read(settings, "van-ban/61-2018-nd-cp.html")


def test_a_replaced_document_is_no_longer_in_force(publish_all, settings):
    old = document_state(1, 2, number="10/2020/QĐ-UBND", in_force=False)
    new = document_state(
        2,
        1,
        number="05/2026/QĐ-UBND",
        relations=[{"kind": "replaces", "number": "10/2020/QĐ-UBND", "document_id": 1}],
    )
    publish_all(("document", old), ("document", new))
    page = read(settings, "van-ban/10-2020-qd-ubnd.html")
    assert 'Được thay thế bởi: <a href="05-2026-qd-ubnd.html">05/2026/QĐ-UBND</a>' in page
    assert "Hết hiệu lực (được thay thế bởi 05/2026/QĐ-UBND)" in page
    assert 'Thay thế: <a href="10-2020-qd-ubnd.html">10/2020/QĐ-UBND</a>' in read(
        settings, "van-ban/05-2026-qd-ubnd.html"
    )


HOSTILE_BODIES = [
    "<script>alert(1)</script><p>một</p>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">bấm</a>',
    '<a href="  JaVaScRiPt:alert(1)">bấm</a>',
    '<a href="jav&#x09;ascript:alert(1)">bấm</a>',
    '<svg onload="alert(1)"><script>alert(1)</script><circle r="4"/></svg>',
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<p style="width: expression(alert(1))">css</p>',
    '<div style="background:url(javascript:alert(1))">css</div>',
    "<style>body { background: url(javascript:alert(1)) }</style>",
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>',
    '<iframe src="javascript:alert(1)"></iframe><object data="evil.swf"></object><embed src="x">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">b</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)"><base href="javascript:alert(1)//">',
    "<p>chưa đóng <b>đậm <img src=x onerror=alert(1)//",
    "</div></article><script>alert(1)</script><div>",
    "<<script>script>alert(1)<</script>/script>",
    '<p onclick="alert(1)" onmouseover=alert(1)>sự kiện</p>',
]
MARKERS = ("<script", "onerror", "onload", "onclick", "javascript:", "data:", "<svg", "expression(", "style=")


def test_hostile_bodies_never_reach_a_portal_file(publish_all, settings):
    states = [
        article_state(100 + i, 1, title=f"Bài {i}", body_html=body, procedure_codes=["MB.XD.001"])
        for i, body in enumerate(HOSTILE_BODIES)
    ]
    report = publish_all(("procedure", procedure_state("MB.XD.001", 1)), *(("article", s) for s in states))
    assert report.sent == len(states) + 1
    files = [p for p in settings.portal_dir.rglob("*") if p.is_file() and p.suffix in (".html", ".xml")]
    pages = [p for p in files if p.parent.name == "tin-tuc" and p.name.startswith("bai-")]
    assert len(pages) == len(states)
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".xml":  # what a feed reader sees once it unescapes the text
            text = " ".join(ET.fromstring(text.encode()).itertext())  # noqa: S314 - our own file
        for marker in MARKERS:
            if marker == "<script" and path.relative_to(settings.portal_dir).as_posix() in (
                "thu-tuc/index.html",
                "hoi-dap/index.html",
                "hoi-dap/gui-phan-anh.html",
                "hoi-dap/tra-cuu.html",
            ):
                continue  # the search boxes' and the hotline form's own scripts, not an article's
            assert marker not in text.lower(), (path.name, marker)
    for path in pages:
        body = re.search(r'<div class="article-body">(.*?)</div>\n', path.read_text(encoding="utf-8"), re.S)
        assert body is not None, path.name
        for marker in MARKERS:
            assert marker not in body.group(1).lower(), (path.name, marker)
    # What was legitimate in them survives.
    assert "<p>một</p>" in read(settings, "tin-tuc/bai-0.html")
    assert "<p>chưa đóng <b>đậm </b></p>" in read(settings, "tin-tuc/bai-17.html")


def test_every_other_field_is_escaped_and_bad_urls_are_dropped(publish_all, settings):
    state = article_state(
        200,
        1,
        title="Tin <script>alert(1)</script>",
        slug="tin-doc-hai",
        summary='<img src=x onerror="alert(1)">',
        cover_image_url="javascript:alert(1)",
        tags=['<svg onload="alert(1)">'],
        attachments=[
            {"id": "x", "filename": "<b>a</b>.pdf", "content_type": "application/pdf", "size": 1, "url": u}
            for u in ("javascript:alert(1)", "data:application/pdf;base64,AAAA", "//evil.example/a.pdf")
        ],
    )
    publish_all(("article", state))
    for relative in ("tin-tuc/tin-doc-hai.html", "tin-tuc/index.html", "index.html"):
        text = read(settings, relative)
        for raw in (
            "<script>alert",
            "<img src=x",
            "<svg",
            'href="javascript:',
            'src="javascript:',
            '"data:',
            "//evil",
        ):
            assert raw not in text, (relative, raw)
    page = read(settings, "tin-tuc/tin-doc-hai.html")
    assert "Tin &lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;svg onload=" in page
    assert "Tệp đính kèm" not in page and 'class="cover"' not in page
    feed = (settings.portal_dir / "tin-tuc/feed.xml").read_text(encoding="utf-8")
    assert "<script>" not in feed and "Tin &lt;script&gt;" in feed
