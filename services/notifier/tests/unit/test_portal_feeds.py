"""Follow what matters (issue 14): Atom feeds of changes, of each field, of each category of
articles, of answers and of documents, read as a feed reader reads them (feedparser).

Every feed parses cleanly; every link is absolute from the portal's public address and
leads to a page the portal has; every page with a feed announces it and links to it.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import feedparser
import pytest

from minhbach_testing.notifier import (
    article_state,
    demo_documents,
    envelope,
    procedure_state,
    ticket_answer,
)
from notifier.disclosure import services as disclosure

ANSWER = "PAKN-2026-000321"
CONTENT = {"article", "document"}


@pytest.fixture
def publish(notifier, owner, content_owner, hotline_owner):
    """Put states on their owners, ingest one event each, run the portal once."""

    def run(*states):
        events = []
        for kind, state in states:
            source = content_owner if kind in CONTENT else hotline_owner if kind == "ticket" else owner
            source.put(kind, state)
            events.append(envelope(kind, str(state.get("code") or state["id"]), state["version"]))
        disclosure.ingest(notifier, events)
        return disclosure.run_channel(notifier, "portal")

    return run


def parse(settings, relative: str) -> feedparser.FeedParserDict:
    """The feed as a reader sees it, after checking what every feed must be."""
    feed = feedparser.parse((settings.portal_dir / relative).read_bytes())
    assert not feed.bozo, (relative, feed.get("bozo_exception"))
    base = settings.portal_url + "/"
    links = [feed.feed.link, *(link.href for link in feed.feed.links if link.rel == "self")]
    for entry in feed.entries:
        assert unicodedata.is_normalized("NFC", entry.title), entry.title
        links.append(entry.link)
    for link in links:
        assert re.match(r"^https?://", link) and link.startswith(base), (relative, link)
        assert (settings.portal_dir / link.removeprefix(base)).is_file(), (relative, link)
    assert any(link.rel == "self" and link.href == base + relative for link in feed.feed.links)
    return feed


def every_feed(settings) -> list[str]:
    return sorted(
        p.relative_to(settings.portal_dir).as_posix() for p in Path(settings.portal_dir).rglob("*.xml")
    )


def titles(feed) -> list[str]:
    return [e.title for e in feed.entries]


def announces(settings, page: str, feed: str) -> None:
    """The page names its feed in its head and links to it where a reader sees it."""
    html = (settings.portal_dir / page).read_text(encoding="utf-8")
    head, body = html.split("</head>")
    assert re.search(
        rf'<link rel="alternate" type="application/atom\+xml" title="[^"]+" href="{re.escape(feed)}">', head
    )
    assert re.search(rf'<a href="{re.escape(feed)}">Theo dõi[^<]*\(Atom\)</a>', body), page


def test_every_feed_parses_and_links_to_pages_that_exist(publish, settings):
    publish(
        ("procedure", procedure_state("MB.XD.001", 1)),
        (
            "procedure",
            procedure_state("MB.NO.001", 1, name="Công nhận chủ đầu tư dự án nhà ở", field="Nhà ở"),
        ),
        ("article", article_state(7, 1, title="Sở Xây dựng đẩy mạnh cải cách hành chính năm 2026")),
        ("article", article_state(8, 1, category="propaganda", title="Tờ gấp: nộp hồ sơ trực tuyến")),
        ("ticket", ticket_answer(ANSWER, 1)),
        *(("document", d) for d in demo_documents()),
    )
    feeds = every_feed(settings)
    assert {
        "feed.xml",
        "hoi-dap/feed.xml",
        "van-ban/feed.xml",
        "tin-tuc/feed.xml",
        "tuyen-truyen/feed.xml",
        "linh-vuc/hoat-dong-xay-dung.xml",
        "linh-vuc/nha-o.xml",
    } <= set(feeds)
    for relative in feeds:
        parse(settings, relative)
    assert titles(parse(settings, "tin-tuc/feed.xml")) == [
        "Sở Xây dựng đẩy mạnh cải cách hành chính năm 2026"
    ]
    assert parse(settings, "tin-tuc/feed.xml").entries[0].link == (
        f"{settings.portal_url}/tin-tuc/so-xay-dung-day-manh-cai-cach-hanh-chinh-nam-2026.html"
    )
    answers = parse(settings, "hoi-dap/feed.xml")
    assert titles(answers) == ["Hồ sơ cấp giấy phép xây dựng bị yêu cầu bổ sung nhiều lần"]
    assert answers.entries[0].link == f"{settings.portal_url}/hoi-dap/{ANSWER}.html"
    assert "Theo quy định, cơ quan tiếp nhận chỉ yêu cầu bổ sung hồ sơ một lần." in answers.entries[0].summary
    for page, feed in (
        ("hoi-dap/index.html", "feed.xml"),
        ("van-ban/index.html", "feed.xml"),
        ("tin-tuc/index.html", "feed.xml"),
        ("linh-vuc/nha-o.html", "nha-o.xml"),
    ):
        announces(settings, page, feed)


def test_a_fields_feed_lists_its_procedures_changes_only_and_follows_a_move(publish, settings):
    publish(
        ("procedure", procedure_state("MB.XD.001", 1)),
        (
            "procedure",
            procedure_state("MB.NO.001", 1, name="Công nhận chủ đầu tư dự án nhà ở", field="Nhà ở"),
        ),
    )
    building = parse(settings, "linh-vuc/hoat-dong-xay-dung.xml")
    assert [e.id for e in building.entries] == ["urn:minhbach:procedure:MB.XD.001:v1"]
    assert building.feed.title.endswith("lĩnh vực Hoạt động xây dựng")
    assert building.entries[0].link == f"{settings.portal_url}/thu-tuc/MB.XD.001.html"
    assert [e.id for e in parse(settings, "linh-vuc/nha-o.xml").entries] == [
        "urn:minhbach:procedure:MB.NO.001:v1"
    ]

    # Amended into another field: its changes now follow it there.
    publish(("procedure", procedure_state("MB.XD.001", 2, field="Nhà ở")))
    assert [e.id for e in parse(settings, "linh-vuc/nha-o.xml").entries] == [
        "urn:minhbach:procedure:MB.XD.001:v2",
        "urn:minhbach:procedure:MB.XD.001:v1",
        "urn:minhbach:procedure:MB.NO.001:v1",
    ]
    # The field has no procedure left: its page and feed are gone.
    assert not (settings.portal_dir / "linh-vuc/hoat-dong-xay-dung.xml").exists()
    assert not (settings.portal_dir / "linh-vuc/hoat-dong-xay-dung.html").exists()


def test_a_withdrawn_answer_leaves_the_answers_feed(publish, notifier, hotline_owner, settings):
    publish(
        ("ticket", ticket_answer(ANSWER, 1)),
        (
            "ticket",
            ticket_answer(
                "PAKN-2026-000322",
                1,
                subject="Phí thẩm định",
                question="Phí thẩm định thiết kế là bao nhiêu?",
                answer="Theo biểu phí hiện hành.",
            ),
        ),
    )
    assert len(parse(settings, "hoi-dap/feed.xml").entries) == 2
    hotline_owner.remove("ticket", ANSWER)
    disclosure.ingest(notifier, [envelope("ticket", ANSWER, 2)])
    disclosure.run_channel(notifier, "portal")
    assert titles(parse(settings, "hoi-dap/feed.xml")) == ["Phí thẩm định"]
    raw = (settings.portal_dir / "hoi-dap/feed.xml").read_text(encoding="utf-8")
    assert ANSWER not in raw and "giấy phép" not in raw


def test_a_documents_entry_appears_when_it_is_published(publish, settings):
    first, second, *_ = demo_documents(inverse=False)
    publish(("document", first))
    assert [e.id for e in parse(settings, "van-ban/feed.xml").entries] == ["urn:minhbach:document:1:v1"]
    publish(("document", second))
    feed = parse(settings, "van-ban/feed.xml")
    assert [e.id for e in feed.entries] == ["urn:minhbach:document:2:v1", "urn:minhbach:document:1:v1"]
    entry = feed.entries[0]
    assert entry.title.startswith("Nghị định số 61/2018/NĐ-CP: Về thực hiện cơ chế một cửa")
    assert entry.link == f"{settings.portal_url}/van-ban/61-2018-nd-cp.html"
    assert "ký ngày 23/04/2018" in entry.summary


def test_without_the_portals_address_links_are_relative_to_the_feed(tmp_path):
    from datetime import UTC, datetime

    from notifier.channels.portal import PortalChannel
    from notifier.channels.views.procedures import Entry

    channel = PortalChannel(tmp_path)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    entry = Entry(id="urn:x", title="Tin", href="tin-tuc/tin.html", updated=at, summary="")
    channel.write_feed(
        "tin-tuc/feed.xml",
        feed_id="urn:f",
        title="T",
        entries=[entry],
        generated_at=at,
        site="S",
        department="D",
    )
    raw = (tmp_path / "tin-tuc/feed.xml").read_text(encoding="utf-8")
    assert (
        'href="../tin-tuc/tin.html"' in raw
        and 'rel="self" type="application/atom+xml" href="../tin-tuc/feed.xml"' in raw
    )
