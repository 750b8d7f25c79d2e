"""The service-centre channel: kiosk board, A4 notices, their audit and the board's live stamp."""

import asyncio
import json
import unicodedata
from datetime import timedelta

import pytest
import redis.asyncio as async_redis
from sqlalchemy.orm import Session

from minhbach_testing.notifier import (
    article_state,
    decision_ref,
    decision_state,
    envelope,
    hotline_statistics,
    procedure_state,
    ticket_answer,
)
from minhbach_testing.plugin import free_port
from notifier.channels.center import BOARD_STREAM, board_stamps, read_stamp
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure
from notifier.hotline import services as hotline_services
from notifier.operations import services as operations

PERMIT = "Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II"


def read(settings, relative):
    text = (settings.center_dir / relative).read_bytes().decode("utf-8")
    assert unicodedata.is_normalized("NFC", text), f"{relative} is not NFC"
    return text


def center_ledger(notifier):
    with Session(notifier.engine) as s:
        return repo.disclosed(s, channel="center")


def stream_stamps(redis_client):
    return [fields[b"stamp"].decode() for _, fields in redis_client.xrange(BOARD_STREAM)]


@pytest.fixture
def put(notifier, owner, content_owner, hotline_owner):
    """Put states on their owners, ingest one event each, run the centre once."""

    def run(*states, channel="center"):
        events = []
        for kind, state in states:
            source = {"article": content_owner, "ticket": hotline_owner}.get(kind, owner)
            source.put(kind, state)
            events.append(envelope(kind, str(state.get("code") or state["id"]), state["version"]))
        disclosure.ingest(notifier, events)
        return disclosure.run_channel(notifier, channel)

    return run


def test_a_procedure_in_force_is_on_the_board_and_has_its_a4_notice(put, notifier, settings, redis_client):
    report = put(("procedure", procedure_state("MB.XD.001", 1)))
    assert report.sent == 1

    notice = read(settings, "thu-tuc/MB.XD.001.html")
    assert '<meta name="mb:version" content="1">' in notice
    for component in (
        PERMIT,
        "Bước 1: Tổ chức, cá nhân nộp hồ sơ tại Trung tâm Phục vụ hành chính công tỉnh.",
        "Đơn đề nghị cấp giấy phép xây dựng",
        "20 ngày làm việc",
        "Lệ phí cấp giấy phép xây dựng: 150.000 đồng",
        "Luật Xây dựng số 50/2014/QH13",
        "Quyết định số 12/QĐ-SXD",
    ):
        assert component in notice, component
    assert "@page { size: A4 portrait" in notice and "ĐÃ BÃI BỎ" not in notice

    board = read(settings, "index.html")
    assert "Thủ tục hành chính đang có hiệu lực" in board and "1 thủ tục" in board
    assert '<section class="field" id="hoat-dong-xay-dung">' in board
    assert 'href="thu-tuc/MB.XD.001.html"' in board and 'data-search="mb.xd.001 cap giay phep' in board
    assert center_ledger(notifier) == {("procedure", "MB.XD.001"): 1}
    assert json.loads(read(settings, "board.json"))["stamp"] == stream_stamps(redis_client)[-1]


def test_amendment_abolition_and_replacement_change_every_place_at_the_centre(put, settings, redis_client):
    put(("procedure", procedure_state("MB.XD.001", 1)), ("procedure", procedure_state("MB.XD.002", 1)))
    first = read_stamp(settings.center_dir)

    put(("procedure", procedure_state("MB.XD.001", 2)))
    assert '<meta name="mb:version" content="2">' in read(settings, "thu-tuc/MB.XD.001.html")
    second = read_stamp(settings.center_dir)
    assert second != first and stream_stamps(redis_client)[-2:] == [first, second]

    abolish = [("new", decision_ref()), ("abolish", decision_ref(7, "31/QĐ-SXD", "2026-12-01"))]
    put(("procedure", procedure_state("MB.XD.002", 2, status="abolished", actions=abolish)))
    notice = read(settings, "thu-tuc/MB.XD.002.html")
    assert "ĐÃ BÃI BỎ" in notice and "theo Quyết định số 31/QĐ-SXD" in notice
    assert "gỡ bản niêm yết" in notice and "Trình tự thực hiện" not in notice
    board = read(settings, "index.html")
    assert 'data-code="MB.XD.002"' not in board and "1 thủ tục" in board
    assert "Bãi bỏ</strong>" in board  # among the latest changes, so staff take the paper down

    replace = [("new", decision_ref()), ("replace", decision_ref(8, "40/QĐ-SXD", "2026-12-02"))]
    put(
        ("procedure", procedure_state("MB.XD.003", 1, name="Cấp giấy phép xây dựng (mới)")),
        (
            "procedure",
            procedure_state("MB.XD.001", 3, status="replaced", replaced_by="MB.XD.003", actions=replace),
        ),
    )
    notice = read(settings, "thu-tuc/MB.XD.001.html")
    assert "ĐÃ ĐƯỢC THAY THẾ" in notice
    assert '<a href="MB.XD.003.html">MB.XD.003 — Cấp giấy phép xây dựng (mới)</a>' in notice
    board = read(settings, "index.html")
    assert 'data-code="MB.XD.003"' in board and 'data-code="MB.XD.001"' not in board


def test_the_hotline_phones_and_hours_are_on_the_kiosk(notifier, put, hotline_owner, settings):
    put(("procedure", procedure_state("MB.XD.001", 1)))
    hotline_owner.documents["statistics"] = hotline_statistics(phones=["0227 3831 234", "1900 1234"])
    assert hotline_services.refresh_statistics(notifier) is True
    disclosure.run_channel(notifier, "center")
    board = read(settings, "index.html")
    assert '<a class="phone" href="tel:02273831234">0227 3831 234</a>' in board
    assert "Giờ làm việc: Sáng 7:00-11:30, chiều 13:30-17:00, thứ Hai đến thứ Sáu" in board
    assert center_ledger(notifier)[("statistics", "hotline")] == 1


def test_the_centre_gets_no_rows_for_what_it_does_not_show(put, notifier, settings):
    question = "Tôi là Nguyễn Văn An, gọi 0912 345 678, hỏi về giấy phép"
    put(
        ("decision", decision_state()),
        ("article", article_state(1, 1)),
        ("ticket", ticket_answer("PAKN-2026-000123", 1, question=question)),
        channel="portal",
    )
    with Session(notifier.engine) as s:
        _, total = repo.page_deliveries(s, status=None, channel="center", offset=0, limit=10)
    assert total == 0
    assert disclosure.run_channel(notifier, "center").sent == 0
    written = [p.read_text(encoding="utf-8") for p in settings.center_dir.rglob("*.html")]
    assert not any("0912 345 678" in page or "PAKN-2026-000123" in page for page in written)


def test_same_board_no_wake_up(put, notifier, settings, redis_client):
    put(("procedure", procedure_state("MB.XD.001", 1)))
    before = stream_stamps(redis_client)
    operations.resync(notifier, "center")  # everything again, nothing different on the board
    assert disclosure.run_channel(notifier, "center").sent == 1
    assert stream_stamps(redis_client) == before


def test_reconcile_puts_back_a_notice_or_a_board_removed_behind_its_back(put, notifier, settings):
    put(("procedure", procedure_state("MB.XD.001", 1)), ("procedure", procedure_state("MB.XD.002", 1)))
    (settings.center_dir / "thu-tuc/MB.XD.002.html").unlink()
    assert disclosure.reconcile(notifier).redelivered["center"] == [("procedure", "MB.XD.002")]
    disclosure.run_channel(notifier, "center")
    assert (settings.center_dir / "thu-tuc/MB.XD.002.html").exists()

    (settings.center_dir / "index.html").unlink()
    assert len(disclosure.reconcile(notifier).redelivered["center"]) == 2
    disclosure.run_channel(notifier, "center")
    assert "MB.XD.001" in read(settings, "index.html")


def test_a_notice_fails_alone_and_the_row_backs_off(put, notifier, settings):
    put(("procedure", procedure_state("MB.XD.001", 1)))
    blocker = settings.center_dir / "thu-tuc" / "MB.XD.002.html"
    blocker.mkdir(parents=True)  # a directory where the file must go: that write fails
    report = put(("procedure", procedure_state("MB.XD.002", 1)))
    assert report.failed == 1
    assert ("procedure", "MB.XD.002") not in center_ledger(notifier)
    blocker.rmdir()
    disclosure.run_channel(notifier, "center", now=notifier.clock() + timedelta(seconds=5))
    assert center_ledger(notifier)[("procedure", "MB.XD.002")] == 1


# -- the live stamp behind /center/stream --------------------------------------------------


def test_board_stamps_now_then_at_each_change(put, settings, redis_server):
    put(("procedure", procedure_state("MB.XD.001", 1)))

    async def scenario():
        client = async_redis.Redis.from_url(redis_server.url)
        stamps = board_stamps(client, settings.center_dir, poll_s=30)
        try:
            first = await asyncio.wait_for(anext(stamps), 5)
            waiting = asyncio.ensure_future(anext(stamps))
            await asyncio.sleep(0.2)
            assert not waiting.done()  # nothing changed: the stream blocks, no busy loop
            await asyncio.to_thread(put, ("procedure", procedure_state("MB.XD.002", 1)))
            second = await asyncio.wait_for(waiting, 5)  # woken by Redis, long before poll_s
            return first, second
        finally:
            await stamps.aclose()
            await client.aclose()

    first, second = asyncio.run(scenario())
    assert first != second == read_stamp(settings.center_dir)


def test_board_stamps_without_redis_still_follow_the_board(put, settings):
    put(("procedure", procedure_state("MB.XD.001", 1)))

    async def scenario():
        nobody = async_redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
        stamps = board_stamps(nobody, settings.center_dir, poll_s=0.1)
        try:
            first = await asyncio.wait_for(anext(stamps), 5)
            (settings.center_dir / "board.json").write_text(json.dumps({"stamp": "changed"}))
            return first, await asyncio.wait_for(anext(stamps), 5)
        finally:
            await stamps.aclose()
            await nobody.aclose()

    first, second = asyncio.run(scenario())
    assert first != "changed" and second == "changed"
