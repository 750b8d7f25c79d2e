"""The portal shows the hotline's published Q&A and statistics (issue 4, notifier side)."""

import json
import re
import unicodedata

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from minhbach_shared.text import fold
from minhbach_testing.notifier import (
    envelope,
    hotline_statistics,
    overdue_data,
    procedure_state,
    ticket_answer,
)
from notifier.db import subjects, ticket_overdue
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure
from notifier.operations import services as operations

CODE = "PAKN-2026-000123"
PROCEDURE_NAME = "Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II"


def read(settings, relative):
    text = (settings.portal_dir / relative).read_bytes().decode("utf-8")
    assert unicodedata.is_normalized("NFC", text), f"{relative} is not NFC"
    return text


def ledger_of(notifier):
    with Session(notifier.engine) as s:
        return repo.disclosed(s, channel="portal")


def held(notifier):
    with Session(notifier.engine) as s:
        return repo.subject_versions(s)


def pending(notifier):
    with Session(notifier.engine) as s:
        return repo.due_deliveries(s, channel="portal", now=notifier.clock(), limit=100)


@pytest.fixture
def publish(notifier, owner, hotline_owner):
    """Put states on their owners, ingest one event each, run the portal once."""

    def run(*states):
        events = []
        for kind, state in states:
            (hotline_owner if kind == "ticket" else owner).put(kind, state)
            events.append(envelope(kind, str(state.get("code") or state["id"]), state["version"]))
        disclosure.ingest(notifier, events)
        return disclosure.run_channel(notifier, "portal")

    return run


@pytest.fixture
def with_statistics(hotline_owner):
    hotline_owner.documents["statistics"] = hotline_statistics()
    return hotline_owner


def test_published_answer_is_on_the_qa_index_its_page_and_the_procedure_page(
    publish, settings, with_statistics
):
    report = publish(("procedure", procedure_state("MB.XD.001", 1)), ("ticket", ticket_answer(CODE, 1)))
    assert report.failed == 0 and report.sent == 3  # procedure, ticket, statistics

    index = read(settings, "hoi-dap/index.html")
    for text in [
        f'<h2><a href="../thu-tuc/MB.XD.001.html">{PROCEDURE_NAME}</a> '
        '<span class="muted">(MB.XD.001)</span></h2>',
        f'<a href="{CODE}.html">Hồ sơ cấp giấy phép xây dựng bị yêu cầu bổ sung nhiều lần</a>',
        f"{CODE} · Phản ánh · Phòng Quản lý xây dựng · Tiếp nhận: 20/11/2026 · Trả lời: 25/11/2026",
        # 18:30 UTC on the 25th is already the 26th in Vietnam.
        "Công khai: 26/11/2026",
        "<p>Tôi nộp hồ sơ cấp giấy phép xây dựng nhà ở từ tháng 10.</p>",
        "<p>Theo quy định, cơ quan tiếp nhận chỉ yêu cầu bổ sung hồ sơ một lần.</p>",
        '<div id="filter" hidden>',
        '<a href="thong-ke.html">',
    ]:
        assert text in index, text
    data_q = re.search(r'data-q="([^"]*)"', index).group(1)
    assert "giay phep xay dung" in data_q and data_q == fold(data_q)

    page = read(settings, f"hoi-dap/{CODE}.html")
    for text in [
        '<meta name="mb:version" content="1">',
        f'<meta name="mb:subject" content="ticket:{CODE}">',
        "<h1>Hồ sơ cấp giấy phép xây dựng bị yêu cầu bổ sung nhiều lần</h1>",
        f'<a href="../thu-tuc/MB.XD.001.html">{PROCEDURE_NAME}</a>',
        "<dt>Ngày công khai</dt><dd>26/11/2026</dd>",
        "<h2>Trả lời của Phòng Quản lý xây dựng</h2>",
    ]:
        assert text in page, text

    procedure = read(settings, "thu-tuc/MB.XD.001.html")
    assert "<h2>Hỏi đáp về thủ tục này</h2>" in procedure
    assert f'<a href="../hoi-dap/{CODE}.html">Hồ sơ cấp giấy phép' in procedure

    home = read(settings, "index.html")
    assert '<a href="hoi-dap/index.html">Hỏi đáp</a>' in home
    assert f'<a href="hoi-dap/{CODE}.html">Hồ sơ cấp giấy phép' in home
    assert '<a href="tel:02273831234">0227 3831 234</a>' in home
    assert "Giờ làm việc: Sáng 7:00-11:30, chiều 13:30-17:00, thứ Hai đến thứ Sáu" in home
    assert 'href="hoi-dap/thong-ke.html"' in home


def test_statistics_page_by_month_and_unit(publish, settings, with_statistics):
    publish(("ticket", ticket_answer(CODE, 1)))
    stats = read(settings, "hoi-dap/thong-ke.html")
    assert '<meta name="mb:version" content="1">' in stats
    by_month = re.search(r'<table class="stats by-month">(.*?)</table>', stats, re.S).group(1)
    rows = re.findall(r"<tr><t[dh]>([^<]*)</t[dh]>((?:<td>[^<]*</td>)+)</tr>", by_month)
    cells = [(label, re.findall(r"<td>([^<]*)</td>", tds)) for label, tds in rows]
    assert cells == [
        ("11/2026", ["6", "2", "1", "2", "67%"]),
        ("10/2026", ["3", "2", "1", "0", "67%"]),
        ("Tổng cộng", ["9", "4", "2", "2", "67%"]),
    ]
    by_unit = re.search(r'<table class="stats by-unit">(.*?)</table>', stats, re.S).group(1)
    assert "<td>Chưa giao đơn vị</td><td>2</td><td>0</td><td>0</td><td>1</td><td>—</td>" in by_unit
    assert "<td>Phòng Quản lý xây dựng</td><td>7</td><td>4</td><td>2</td><td>1</td><td>67%</td>" in by_unit


def test_groups_by_procedure_newest_first_with_khac_last(publish, settings):
    publish(
        ("procedure", procedure_state("MB.XD.001", 1)),
        (
            "ticket",
            ticket_answer("PAKN-2026-000001", 1, subject="Câu hỏi cũ", published_at="2026-11-01T01:00:00Z"),
        ),
        (
            "ticket",
            ticket_answer("PAKN-2026-000002", 1, subject="Câu hỏi mới", published_at="2026-11-20T01:00:00Z"),
        ),
        (
            "ticket",
            ticket_answer(
                "PAKN-2026-000003",
                1,
                kind="kien_nghi",
                subject="Kiến nghị chung",
                procedure_code=None,
                unit=None,
                published_at="2026-11-28T01:00:00Z",
            ),
        ),
        ("ticket", ticket_answer("PAKN-2026-000004", 1, subject="Thủ tục lạ", procedure_code="MB.XX.999")),
    )
    index = read(settings, "hoi-dap/index.html")
    assert index.index("Câu hỏi mới") < index.index("Câu hỏi cũ")
    headings = re.findall(r"<h2>(.*?)</h2>", index)
    assert headings[-1] == "Khác" and "Kiến nghị chung" in index.split("<h2>Khác</h2>")[1]
    # A procedure the portal does not show: its code, not a dead link.
    assert "MB.XX.999" in headings
    assert "PAKN-2026-000003 · Kiến nghị · Tiếp nhận: 20/11/2026" in index
    assert "thu-tuc/MB.XX.999.html" not in index


def test_a_404_after_publication_removes_the_qa_everywhere(notifier, publish, hotline_owner, settings):
    publish(("procedure", procedure_state("MB.XD.001", 1)), ("ticket", ticket_answer(CODE, 2)))
    assert CODE in read(settings, "hoi-dap/index.html")

    hotline_owner.remove("ticket", CODE)
    assert disclosure.ingest(notifier, [envelope("ticket", CODE, 3)]).changed == [("ticket", CODE)]
    assert disclosure.run_channel(notifier, "portal").sent == 1

    gone = read(settings, f"hoi-dap/{CODE}.html")
    assert '<meta name="mb:version" content="3">' in gone
    assert "Nội dung hỏi đáp này không còn được công khai." in gone
    assert "giấy phép" not in gone.split("<main")[1]
    assert CODE not in read(settings, "hoi-dap/index.html")
    assert CODE not in read(settings, "thu-tuc/MB.XD.001.html")
    assert CODE not in read(settings, "index.html")
    assert ledger_of(notifier)[("ticket", CODE)] == 3

    # Published again later: back, at the owner's new version.
    publish(("ticket", ticket_answer(CODE, 4)))
    assert CODE in read(settings, "hoi-dap/index.html")
    assert '<meta name="mb:version" content="4">' in read(settings, f"hoi-dap/{CODE}.html")


def test_a_404_for_a_ticket_never_shown_writes_nothing(notifier, settings):
    report = disclosure.ingest(notifier, [envelope("ticket", CODE, 1)])
    assert report.changed == [] and report.dropped == 1
    assert held(notifier) == {}


def test_reconcile_withdraws_an_answer_whose_event_was_lost(notifier, publish, hotline_owner, settings):
    publish(("procedure", procedure_state("MB.XD.001", 1)), ("ticket", ticket_answer(CODE, 2)))
    hotline_owner.remove("ticket", CODE)  # and the event never arrives
    report = disclosure.reconcile(notifier)
    assert report.fetched == [("ticket", CODE)]
    disclosure.run_channel(notifier, "portal")
    assert CODE not in read(settings, "hoi-dap/index.html")
    assert "không còn được công khai" in read(settings, f"hoi-dap/{CODE}.html")
    assert disclosure.reconcile(notifier).fetched == [], "a withdrawn answer is not fetched again and again"


def test_a_ticket_that_changes_procedure_leaves_the_old_procedure_page(publish, settings):
    publish(
        ("procedure", procedure_state("MB.XD.001", 1)),
        ("procedure", procedure_state("MB.XD.002", 1, name="Cấp giấy phép sửa chữa")),
        ("ticket", ticket_answer(CODE, 1)),
    )
    assert CODE in read(settings, "thu-tuc/MB.XD.001.html")
    publish(("ticket", ticket_answer(CODE, 2, procedure_code="MB.XD.002")))
    assert CODE not in read(settings, "thu-tuc/MB.XD.001.html")
    assert CODE in read(settings, "thu-tuc/MB.XD.002.html")


def test_overdue_events_are_recorded_not_rendered_and_keep_the_portal_version(
    notifier, publish, hotline_owner, settings
):
    publish(("ticket", ticket_answer(CODE, 3)))
    fetches = len(hotline_owner.fetches)
    page = read(settings, f"hoi-dap/{CODE}.html")

    # The hotline's one counter per ticket: an overdue event can be past the answer's version.
    overdue = envelope("ticket", CODE, 5, "ticket.overdue", overdue_data())
    report = disclosure.ingest(notifier, [overdue, overdue])
    assert report.notices == 1 and report.changed == [] and report.stale == 0
    assert len(hotline_owner.fetches) == fetches, "an overdue event is never fetched as a page"
    assert held(notifier) == {("ticket", CODE): 3}
    assert ledger_of(notifier) == {("ticket", CODE): 3}
    assert pending(notifier) == []
    assert read(settings, f"hoi-dap/{CODE}.html") == page

    # A ticket that was never published: nothing on the portal either.
    disclosure.ingest(
        notifier, [envelope("ticket", "PAKN-2026-000999", 2, "ticket.overdue", overdue_data(days=4))]
    )
    assert not (settings.portal_dir / "hoi-dap/PAKN-2026-000999.html").exists()
    assert ("ticket", "PAKN-2026-000999") not in held(notifier)

    with Session(notifier.engine) as s:
        rows = s.execute(select(ticket_overdue).order_by(ticket_overdue.c.ticket_id)).all()
    assert [(r.ticket_id, r.version) for r in rows] == [(CODE, 5), ("PAKN-2026-000999", 2)]
    assert json.loads(rows[0].data) == overdue_data() and rows[0].received_at is not None
    summary = operations.disclosure_report(notifier)["ticket_overdue"]
    assert summary["count"] == 2 and summary["tickets"] == 2

    # The next publication of the answer (version 6) is not held back by the notice.
    publish(("ticket", ticket_answer(CODE, 6, answer="Câu trả lời đã được bổ sung.")))
    assert '<meta name="mb:version" content="6">' in read(settings, f"hoi-dap/{CODE}.html")


def test_overdue_and_published_events_in_one_batch(notifier, hotline_owner, settings):
    hotline_owner.put("ticket", ticket_answer(CODE, 3))
    report = disclosure.ingest(
        notifier,
        [
            envelope("ticket", CODE, 2, "ticket.overdue", overdue_data()),
            envelope("ticket", CODE, 3),
            envelope("ticket", CODE, 4, "ticket.overdue", overdue_data(days=3)),
        ],
    )
    assert report.changed == [("ticket", CODE)] and report.notices == 2
    assert held(notifier) == {("ticket", CODE): 3}
    disclosure.run_channel(notifier, "portal")
    assert '<meta name="mb:version" content="3">' in read(settings, f"hoi-dap/{CODE}.html")


def test_statistics_refresh_when_tickets_change_and_on_reconcile(notifier, publish, hotline_owner, settings):
    hotline_owner.documents["statistics"] = hotline_statistics()
    publish(("ticket", ticket_answer(CODE, 1)))
    assert "<td>11/2026</td><td>6</td>" in read(settings, "hoi-dap/thong-ke.html")

    # An overdue notice changes open_overdue: the page follows.
    hotline_owner.documents["statistics"] = hotline_statistics(
        [{"month": "2026-11", "unit": "Phòng Quản lý xây dựng", "received": 7, "open_overdue": 3}]
    )
    disclosure.ingest(notifier, [envelope("ticket", CODE, 2, "ticket.overdue", overdue_data())])
    disclosure.run_channel(notifier, "portal")
    stats = read(settings, "hoi-dap/thong-ke.html")
    assert '<meta name="mb:version" content="2">' in stats and "<td>11/2026</td><td>7</td>" in stats

    # Unchanged: nothing to deliver. Changed (a new day, a new phone): reconcile picks it up.
    assert disclosure.reconcile(notifier).statistics is False
    hotline_owner.documents["statistics"] = hotline_statistics(phones=["1900 1234", "0227 3831 234"])
    assert disclosure.reconcile(notifier).statistics is True
    disclosure.run_channel(notifier, "portal")
    assert '<a href="tel:19001234">1900 1234</a>, <a href="tel:02273831234">' in read(settings, "index.html")


def test_reconcile_with_the_hotline_down_leaves_procedures_working(notifier, owner, hotline_owner, settings):
    hotline_owner.put("ticket", ticket_answer(CODE, 1))
    hotline_owner.documents["statistics"] = hotline_statistics()
    hotline_owner.down = True
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    report = disclosure.reconcile(notifier)
    assert report.unreachable == ["hotline"] and report.fetched == [("procedure", "MB.XD.001")]
    disclosure.run_channel(notifier, "portal")
    assert (settings.portal_dir / "thu-tuc/MB.XD.001.html").exists()
    assert "Chưa có câu hỏi nào" in read(settings, "hoi-dap/index.html")

    hotline_owner.down = False
    report = disclosure.reconcile(notifier)
    assert report.fetched == [("ticket", CODE)] and report.statistics is True
    disclosure.run_channel(notifier, "portal")
    assert CODE in read(settings, "thu-tuc/MB.XD.001.html")
    assert (settings.portal_dir / "hoi-dap/thong-ke.html").exists()


def test_reconcile_redelivers_qa_pages_deleted_behind_its_back(notifier, publish, settings, with_statistics):
    publish(("ticket", ticket_answer(CODE, 1)))
    (settings.portal_dir / f"hoi-dap/{CODE}.html").unlink()
    (settings.portal_dir / "hoi-dap/thong-ke.html").unlink()
    redelivered = disclosure.reconcile(notifier).redelivered["portal"]
    assert sorted(redelivered) == [("statistics", "hotline"), ("ticket", CODE)]
    disclosure.run_channel(notifier, "portal")
    assert (settings.portal_dir / f"hoi-dap/{CODE}.html").exists()
    assert (settings.portal_dir / "hoi-dap/thong-ke.html").exists()


# Strings the hotline would have redacted, in fields it should never have sent.
LEAKS = {
    "submitter_name": "Nguyễn Văn Bí Mật",
    "name": "Trần Thị Riêng Tư",
    "phone": "0912 345 678",
    "email": "bimat@example.com",
    "address": "Số 9 ngõ Kín, phường Kỳ Bá",
    "internal_notes": "Ghi chú nội bộ: không công khai",
    "body": "Nguyên văn của công dân",
    "original": "Văn bản gốc chưa che",
    "contact": {"phone": "+84 912 345 678", "email": "lo@example.vn"},
    "citizen_id": "001099012345",
}


def test_only_the_contracts_public_fields_are_ever_rendered(notifier, publish, settings, with_statistics):
    hostile = ticket_answer(
        CODE,
        1,
        subject='<script>alert("x")</script> Hỏi về <b>lệ phí</b>',
        question="Câu hỏi & trả lời <img src=x onerror=alert(1)>",
    )
    hostile |= LEAKS
    stats = hotline_statistics()
    stats["months"][0] |= {"submitter_name": LEAKS["submitter_name"]}
    stats["hotline"] |= {"officer_phone": LEAKS["phone"]}
    stats["secret"] = LEAKS["internal_notes"]
    with_statistics.documents["statistics"] = stats
    publish(("procedure", procedure_state("MB.XD.001", 1)), ("ticket", hostile))

    files = [p for p in settings.portal_dir.rglob("*") if p.is_file() and p.suffix in (".html", ".xml")]
    assert len(files) > 10
    leaks = [v for value in LEAKS.values() for v in (value.values() if isinstance(value, dict) else [value])]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for leak in leaks:
            assert leak not in text, (path.name, leak)
            assert fold(leak) not in text, (path.name, leak)
        assert "<img src=x" not in text and '<script>alert("x")' not in text
    page = read(settings, f"hoi-dap/{CODE}.html")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Hỏi về &lt;b&gt;lệ phí&lt;/b&gt;" in page
    assert "Câu hỏi &amp; trả lời &lt;img src=x onerror=alert(1)&gt;" in page

    # Nor are they kept: the read model stores the allow-listed fields only.
    with Session(notifier.engine) as s:
        stored = [json.loads(r.state) for r in s.execute(select(subjects.c.state))]
    blob = json.dumps(stored, ensure_ascii=False)
    for leak in leaks:
        assert leak not in blob, leak
