"""The operator's pages in-process, against a small stand-in of the notifier API and of the
owners' outbox reads (the hotline's down): only operators get in, forged posts are refused,
retry one / retry a channel / resync call the notifier's endpoints and are written to the
action log (a refusal too); the queues with their workers, the workers, the outboxes and
reconciliation in words, what needs attention first, an owner (or a part of the notifier)
that does not answer leaving only its own row unread; the rounds that repaired something,
each subject linked; the disclosure report as a table and as CSV (with a BOM for Excel), its
filters, and a notifier that is down says so plainly. The pages against the running system:
tests/e2e/test_console_operations.py."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from console.app import create_app
from console.settings import Settings
from minhbach_shared.times import VIETNAM
from minhbach_testing.html import cells, row, section
from minhbach_testing.plugin import serving
from services.console.tests.conftest import PASSWORD, csrf_of, sign_in


def delivery(
    id_: int, status: str, channel: str, code: str, error: str | None, attempts: int
) -> dict[str, Any]:
    return {
        "id": id_,
        "channel": channel,
        "subject_kind": "procedure",
        "subject_id": code,
        "version": 2,
        "status": status,
        "attempts": attempts,
        "next_attempt_at": "2026-12-20T10:00:00+07:00",
        "last_error": error,
        "created_at": "2026-12-20T09:00:00+07:00",
        "sent_at": None,
        "occurred_at": "2026-12-20T09:00:00+07:00",
    }


REPORT = {
    "generated_at": "2026-12-20T03:04:00+00:00",
    "channels": ["portal", "center"],
    "subjects": [
        {
            "kind": "procedure",
            "id": "MB.XD.001",
            "version": 3,
            "channels": {
                "portal": {"version": 3, "disclosed_at": None, "state": "current"},
                "center": {"version": 2, "disclosed_at": None, "state": "stale"},
            },
        },
        {
            "kind": "procedure",
            "id": "MB.XD.002",
            "version": 1,
            "channels": {
                "portal": {"version": 1, "disclosed_at": None, "state": "current"},
                "center": {"version": 1, "disclosed_at": None, "state": "current"},
            },
        },
        {
            "kind": "article",
            "id": "=1+2",
            "version": 1,
            "channels": {"portal": {"version": None, "disclosed_at": None, "state": "missing"}},
        },
    ],
    "stale": [{"channel": "center", "kind": "procedure", "id": "MB.XD.001", "version": 3, "disclosed": 2}],
    "missing": [{"channel": "portal", "kind": "article", "id": "=1+2", "version": 1, "disclosed": None}],
    "time_to_disclose": {},
    "ticket_overdue": {"count": 0, "tickets": 0, "latest_received_at": None},
}


def ago(seconds: float) -> str:
    """A moment `seconds` ago, as the notifier writes it (Vietnam time)."""
    return (datetime.now(UTC) - timedelta(seconds=seconds)).astimezone(VIETNAM).isoformat()


def a_round(seconds_ago: float, *, at_start: bool = False, **repaired: Any) -> dict[str, Any]:
    return {
        "finished_at": ago(seconds_ago),
        "at_start": at_start,
        "fetched": 0,
        "redelivered": 0,
        "fetched_subjects": [],
        "redelivered_subjects": {},
        "redelivered_by_channel": {},
        "unreachable": [],
        **repaired,
    }


def rounds() -> dict[str, Any]:
    """GET /v1/ops/reconciliation: the last round (nothing to repair, the hotline not reached),
    and two that repaired something: drift five minutes ago, a start-up catch-up before."""
    drift = a_round(
        300,
        redelivered=3,
        redelivered_subjects={"portal": ["procedure:MB.XD.001", "decision:7"], "center": ["article:12"]},
        redelivered_by_channel={"portal": 2, "center": 1},
    )
    start = a_round(
        7200,
        at_start=True,
        fetched=52,
        fetched_subjects=[f"procedure:MB.XD.{n:03d}" for n in range(1, 51)],
    )
    return {"last": a_round(20, unreachable=["hotline"]), "repairs": [drift, start]}


class StandIn:
    """The notifier's operator reads and writes, canned; it records what it was sent.
    `broken`: the reads that answer 500 (the page must stand without them)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.refuse: tuple[int, dict[str, Any]] | None = None
        self.broken: set[str] = set()
        self.app = FastAPI()

        @self.app.get("/v1/channels")
        def channels() -> list[dict[str, Any]]:
            return [
                {
                    "name": "portal",
                    "health": "failing",
                    "lag_s": 3720.0,
                    "backlog": 4,
                    "failed": 1,
                    "dead": 1,
                    "last_run_at": ago(42),
                    "last_success_at": ago(3 * 3600 + 120),
                },
                {
                    "name": "center",
                    "health": "ok",
                    "lag_s": 0.0,
                    "backlog": 0,
                    "failed": 0,
                    "dead": 0,
                    "last_run_at": None,
                    "last_success_at": None,
                },
            ]

        def queue(name: str, depth: int, consumers: int, **more: Any) -> dict[str, Any]:
            return {
                "queue": name,
                "depth": depth,
                "oldest_age_s": None,
                "unacked": 0,
                "consumers": consumers,
                "dead_letters": 0,
                **more,
            }

        @self.app.get("/v1/ops/queues")
        def queues() -> dict[str, Any]:
            return {
                "queues": [
                    queue("events", 0, 1),
                    queue("channel.portal", 2, 1, oldest_age_s=95.0, unacked=1, dead_letters=1),
                    queue("channel.center", 0, 1),
                    queue("channel.dvc", 0, 0),  # off here: not in /v1/channels
                    queue("procedures", 0, 1),
                    queue("content", 4, 0, oldest_age_s=30.0),
                ],
                "unacked": 1,
                "channel_runs": {"portal": 12},
            }

        @self.app.get("/v1/ops/workers")
        def workers() -> Any:
            if "workers" in self.broken:
                return JSONResponse({"detail": "boom"}, status_code=500)
            return {
                "workers": [
                    {
                        "name": "email@mb-host",
                        "queues": ["channel.email"],
                        "pid": 4242,
                        "seen_at": ago(600),
                        "age_s": 600.0,
                        "online": False,
                    },
                    {
                        "name": "portal@mb-host",
                        "queues": ["channel.portal"],
                        "pid": 4243,
                        "seen_at": ago(2),
                        "age_s": 2.0,
                        "online": True,
                    },
                ]
            }

        @self.app.get("/v1/ops/reconciliation")
        def reconciliation() -> Any:
            if "reconciliation" in self.broken:
                return JSONResponse({"detail": "boom"}, status_code=500)
            return rounds()

        @self.app.get("/v1/deliveries")
        def deliveries(request: Request) -> dict[str, Any]:
            status = request.query_params.get("status")
            items = (
                [delivery(11, "dead", "portal", "MB.XD.009", "HTTP 500 từ máy chủ", 8)]
                if status == "dead"
                else [
                    delivery(12, "pending", "portal", "MB.XD.010", "hết thời gian chờ", 2),
                    delivery(13, "pending", "portal", "MB.XD.011", None, 0),
                ]
            )
            return {"items": items, "total": len(items), "page": 1, "size": 200}

        @self.app.get("/v1/disclosure/report")
        def report() -> dict[str, Any]:
            return REPORT

        @self.app.post("/v1/deliveries/{delivery_id}/retry")
        def retry_one(delivery_id: int) -> Any:
            self.sent.append(("retry", str(delivery_id)))
            if self.refuse:
                return JSONResponse(self.refuse[1], status_code=self.refuse[0])
            return delivery(delivery_id, "pending", "portal", "MB.XD.009", "HTTP 500 từ máy chủ", 0)

        @self.app.post("/v1/channels/{name}/retry")
        def retry_channel(name: str) -> Any:
            self.sent.append(("retry-channel", name))
            return JSONResponse({"channel": name, "retried": 2}, status_code=202)

        @self.app.post("/v1/channels/{name}/resync")
        def resync(name: str) -> Any:
            self.sent.append(("resync", name))
            return JSONResponse({"channel": name, "deliveries": 40}, status_code=202)


def outbox(owner: str, unsent: int, oldest_age_s: float, last_sent_at: str | None) -> FastAPI:
    """An owner's GET /v1/ops/outbox, canned."""
    app = FastAPI()

    @app.get("/v1/ops/outbox")
    def read() -> dict[str, Any]:
        return {
            "owner": owner,
            "unsent": unsent,
            "oldest_unsent_at": ago(oldest_age_s) if unsent else None,
            "oldest_age_s": oldest_age_s,
            "last_sent_at": last_sent_at,
        }

    return app


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    yield StandIn()


@pytest.fixture
def served(make_settings: Callable[..., Settings], stand_in: StandIn) -> Iterator[Settings]:
    """The notifier stand-in; procedures keeping up, content's relay stuck for 3 minutes, and
    the hotline not answering at all (nothing listens at its address)."""
    with ExitStack() as stack:
        yield make_settings(
            notifier_url=stack.enter_context(serving(stand_in.app)),
            procedures_url=stack.enter_context(serving(outbox("procedures", 0, 0.0, ago(8)))),
            content_url=stack.enter_context(serving(outbox("content", 7, 185.0, ago(190)))),
        )


@pytest.fixture
def desk(served: Settings, add_account: Any) -> Iterator[TestClient]:
    with TestClient(create_app(served), raise_server_exceptions=False, follow_redirects=False) as c:
        add_account("van.hanh", "operator", name="Phạm Văn Hành")
        assert sign_in(c, "van.hanh", PASSWORD).status_code == 303
        yield c


PAGES = (
    "/console/operations",
    "/console/operations/reconciliation",
    "/console/operations/report",
    "/console/operations/report.csv",
)
POSTS = ("deliveries/11/retry", "channels/portal/retry", "resync/portal")


def test_only_operators_get_in(client, add_account) -> None:
    add_account("bien.tap", "editor", "approver", "admin")
    sign_in(client, "bien.tap", PASSWORD)
    assert "Vận hành" not in client.get("/console/").text
    for path in (*PAGES, "/console/operations/resync/portal"):
        assert client.get(path).status_code == 403, path
    token = csrf_of(client)
    for action in POSTS:
        answer = client.post(f"/console/operations/{action}", data={"csrf_token": token})
        assert answer.status_code == 403 and "Không có quyền" in answer.text, action


def test_forged_posts_are_refused(desk, stand_in) -> None:
    for data in ({}, {"csrf_token": "forged"}):
        for action in POSTS:
            answer = desk.post(f"/console/operations/{action}", data=data)
            assert answer.status_code == 403 and "Biểu mẫu không hợp lệ" in answer.text, action
    assert stand_in.sent == []
    assert "Chưa có thao tác nào" in desk.get("/console/operations").text


def test_the_dashboard_shows_channels_queues_and_troubled_deliveries(desk) -> None:
    page = desk.get("/console/operations")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'href="/console/operations" aria-current="page">Vận hành' in text
    for words in (
        "Cổng thông tin",
        "Trung tâm phục vụ hành chính công",
        "Đang gửi lỗi",
        "1 giờ 2 phút",  # the portal's lag
        "1 phút",  # the queue's oldest message
        "channel.portal",
        "HTTP 500 từ máy chủ",
        "hết thời gian chờ",
        "Hỏng hẳn",
        "Thử lại tất cả",
        'href="/console/operations/resync/portal"',
        'action="/console/operations/deliveries/11/retry"',
        'action="/console/operations/deliveries/12/retry"',
    ):
        assert words in text, words
    # A pending row that never failed is no trouble.
    assert "MB.XD.011" not in text


VN_TIME = re.compile(r"\(\d\d:\d\d:\d\d \d\d/\d\d/\d{4}\)")


def test_a_queue_nobody_takes_is_marked_in_words_with_its_workers_and_work_in_hand(desk) -> None:
    queues = section(desk.get("/console/operations").text, "hang-doi")
    for words in ("Đang xử lý", "Số worker", "0 nghĩa là việc xếp vào sẽ nằm chờ"):
        assert words in queues, words
    content = row(queues, "Đăng và gỡ tin bài theo lịch")  # the content service's own queue
    assert 'class="problem"' in content and "(content)" in content
    assert cells(content)[:3] == [
        '<strong class="status-bad">0: Không có worker nào nhận hàng đợi này</strong>',
        "4",
        "0",
    ]
    portal = row(queues, "Gửi lên Cổng thông tin")
    assert 'class="problem"' not in portal
    assert cells(portal) == ["1", "2", "1", "1 phút", "1"]  # workers, waiting, in hand, oldest, dead
    dvc = row(queues, "Gửi lên Cổng dịch vụ công")  # switched off here: nobody need take it
    assert 'class="problem"' not in dvc and "kênh không bật" in dvc


def test_each_channel_says_when_it_last_ran_and_last_delivered(desk) -> None:
    channels = section(desk.get("/console/operations").text, "kenh")
    assert "Lần chạy gần nhất" in channels and "Lần gửi thành công gần nhất" in channels
    ran, delivered = cells(row(channels, "Cổng thông tin"))[5:7]
    assert re.search(r"4\d giây trước", ran) and VN_TIME.search(ran) and "<time datetime=" in ran
    assert "3 giờ 2 phút trước" in delivered and VN_TIME.search(delivered)
    assert (
        cells(row(channels, "Trung tâm phục vụ hành chính công"))[5:7]
        == ['<span class="muted">chưa có</span>'] * 2
    )


def test_every_worker_with_its_queues_online_or_not(desk) -> None:
    workers = section(desk.get("/console/operations").text, "worker")
    portal = row(workers, "portal@mb-host")
    assert "Gửi lên Cổng thông tin (channel.portal)" in portal
    assert "Đang hoạt động" in portal and "vừa xong" in portal and 'class="problem"' not in portal
    email = row(workers, "email@mb-host")
    assert "Mất liên lạc" in email and "10 phút trước" in email and 'class="problem"' in email
    assert "4242" in email
    assert "quá 30 giây không báo là mất liên lạc" in workers


def test_each_owners_outbox_and_one_that_does_not_answer(desk) -> None:
    page = desk.get("/console/operations")
    assert page.status_code == 200
    outboxes = section(page.text, "hang-cho-gui")
    procedures = row(outboxes, "Dịch vụ thủ tục hành chính")
    assert "Bình thường" in procedures and 'class="problem"' not in procedures
    # Sent 8 s before the fixture started; a busy machine takes a few more to render.
    assert cells(procedures)[1:3] == ["0", "—"] and re.search(r"(?<!\d)([89]|[1-5]\d) giây trước", procedures)
    content = row(outboxes, "Dịch vụ tin bài và văn bản")
    assert 'class="problem"' in content and "Chậm: có thay đổi chờ quá 1 phút" in content
    assert cells(content)[1:3] == ["7", "3 phút"] and "3 phút trước" in content
    hotline = row(outboxes, "Dịch vụ đường dây nóng")
    assert 'class="problem"' in hotline and "không liên lạc được" in hotline
    assert "bộ chuyển (relay)" in outboxes  # what a slow one means


def test_what_needs_attention_is_listed_first_each_pointing_at_its_section(desk) -> None:
    text = desk.get("/console/operations").text
    assert text.index('id="can-chu-y"') < text.index('id="kenh"')
    items = re.findall(r'<li><a href="#([a-z-]+)">(.*?)</a></li>', section(text, "can-chu-y"))
    assert items == [
        (
            "hang-doi",
            "Không có worker nào nhận hàng đợi «Đăng và gỡ tin bài theo lịch (dịch vụ tin bài)» "
            "(content); 4 việc đang chờ.",
        ),
        ("worker", "Worker email@mb-host mất liên lạc từ 10 phút trước."),
        (
            "hang-cho-gui",
            "Dịch vụ tin bài và văn bản: 7 thay đổi chưa chuyển sang dịch vụ công khai, chờ lâu nhất 3 phút.",
        ),
        ("hang-cho-gui", "Không liên lạc được dịch vụ đường dây nóng."),
        ("kenh", "Kênh Cổng thông tin: 1 lượt lỗi đang thử lại, 1 lượt hỏng hẳn."),
        ("luot-gui-loi", "1 lượt gửi hỏng hẳn chờ người thử lại."),
        ("doi-soat", "Lần đối soát gần nhất không liên lạc được dịch vụ đường dây nóng."),
    ]
    for anchor, _ in items:
        assert f'id="{anchor}"' in text


def test_the_last_reconciliation_round_and_how_many_repaired_something(desk) -> None:
    rounds = section(desk.get("/console/operations").text, "doi-soat")
    for words in (
        "Lần đối soát gần nhất",
        "Định kỳ",
        "dịch vụ đường dây nóng",  # not reached by the last round
        "các kênh đều khớp",  # it sent nothing again
        "1 lần phải sửa sai lệch, 1 lần bắt kịp khi khởi động",
        "5 phút trước",  # the latest that repaired something
        'href="/console/operations/reconciliation"',
    ):
        assert words in rounds, words
    assert re.search(r"(1\d|20) giây trước", rounds)


def test_the_rounds_that_repaired_something_list_their_subjects(desk) -> None:
    page = desk.get("/console/operations/reconciliation")
    assert page.status_code == 200
    drift, start = page.text.split('<section class="round"')[1:]
    assert "khi khởi động" not in drift.split("</h3>")[0] and "Định kỳ" in drift
    assert "Gửi lại lên Cổng thông tin: 2 nội dung" in drift
    assert "Gửi lại lên Trung tâm phục vụ hành chính công: 1 nội dung" in drift
    assert drift.index("Cổng thông tin: 2") < drift.index("Trung tâm phục vụ hành chính công: 1")
    # An operator sees them on the portal, as the public does; an article has no link here.
    assert '<a href="http://127.0.0.1:8004/portal/thu-tuc/MB.XD.001.html">Thủ tục MB.XD.001</a>' in drift
    assert '<a href="http://127.0.0.1:8004/portal/quyet-dinh/7.html">Quyết định 7</a>' in drift
    assert "<li>Tin bài 12</li>" in drift
    assert "· khi khởi động</h3>" in start and "Khi khởi động" in start
    assert "Lấy lại từ dịch vụ gốc: 52 nội dung" in start
    assert start.count("<li><a href=") == 50 and "và 2 nội dung khác" in start
    assert "xem trang của nó trên Cổng thông tin" in page.text


def test_an_operator_who_also_edits_opens_subjects_in_the_console(served, add_account) -> None:
    with TestClient(create_app(served), raise_server_exceptions=False, follow_redirects=False) as client:
        add_account("ca.hai", "operator", "editor")
        sign_in(client, "ca.hai", PASSWORD)
        page = client.get("/console/operations/reconciliation").text
    assert '<a href="/console/procedures/MB.XD.001">Thủ tục MB.XD.001</a>' in page
    assert '<a href="/console/decisions/7">Quyết định 7</a>' in page


def test_the_page_stands_when_the_notifier_cannot_tell_its_workers_or_rounds(desk, stand_in) -> None:
    stand_in.broken = {"workers", "reconciliation"}
    page = desk.get("/console/operations")
    assert page.status_code == 200
    assert "Chưa đọc được danh sách worker" in section(page.text, "worker")
    assert "Chưa đọc được kết quả đối soát" in section(page.text, "doi-soat")
    assert "Đang gửi lỗi" in section(page.text, "kenh")  # the rest as before
    attention = section(page.text, "can-chu-y")
    assert "Chưa đọc được danh sách worker." in attention and "Chưa đọc được kết quả đối soát." in attention
    down = desk.get("/console/operations/reconciliation")
    assert down.status_code == 503 and "Chưa đọc được kết quả đối soát" in down.text


def test_retry_one_and_a_channel_and_resync_are_done_and_logged(desk, stand_in) -> None:
    token = csrf_of(desk, "/console/operations")
    done = desk.post("/console/operations/deliveries/11/retry", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/console/operations?msg=delivery_retried"
    done = desk.post("/console/operations/channels/portal/retry", data={"csrf_token": token})
    assert done.headers["location"] == "/console/operations?msg=channel_retried"
    confirm = desk.get("/console/operations/resync/portal")
    assert confirm.status_code == 200
    assert "được gửi lại" in confirm.text and "Không mất gì" in confirm.text
    assert stand_in.sent == [("retry", "11"), ("retry-channel", "portal")]  # reading asks nothing
    done = desk.post("/console/operations/resync/portal", data={"csrf_token": token})
    assert done.headers["location"] == "/console/operations?msg=channel_resynced"
    assert stand_in.sent[-1] == ("resync", "portal")

    page = desk.get("/console/operations?msg=channel_resynced").text
    assert "Đã bắt đầu đồng bộ lại kênh" in page
    log = page.split("Nhật ký thao tác</h2>")[1]
    assert log.count("Phạm Văn Hành") == 3
    # Newest first, with what the notifier answered.
    assert log.index("Đã xếp 40 nội dung để gửi lại") < log.index("Đã đặt lại 2 lượt gửi lỗi")
    assert log.index("Đã đặt lại 2 lượt gửi lỗi") < log.index(
        "Thủ tục MB.XD.009, phiên bản 2, Cổng thông tin"
    )
    assert "Đồng bộ lại kênh" in log and "lượt gửi số 11" in log


def test_a_refusal_is_said_and_logged(desk, stand_in) -> None:
    stand_in.refuse = (409, {"detail": "delivery 11 is sent; only dead or pending ones can be retried"})
    token = csrf_of(desk, "/console/operations")
    answer = desk.post("/console/operations/deliveries/11/retry", data={"csrf_token": token})
    assert answer.status_code == 409 and "không còn ở trạng thái lỗi" in answer.text
    log = desk.get("/console/operations").text.split("Nhật ký thao tác</h2>")[1]
    assert "Bị từ chối (409)" in log


def test_the_report_marks_stale_and_missing_cells_and_filters(desk) -> None:
    page = desk.get("/console/operations/report")
    assert page.status_code == 200
    assert "Chậm phiên bản</strong>: đang hiện 2" in page.text
    assert "Chưa có</strong>" in page.text and "Không áp dụng" in page.text
    assert "1 ô chậm phiên bản, 1 ô chưa có, trên 3 nội dung" in page.text
    assert "10:04" in page.text  # in Vietnam time
    problems = desk.get("/console/operations/report", params={"state": "problems"}).text
    assert "MB.XD.001" in problems and "=1+2" in problems and "MB.XD.002" not in problems
    articles = desk.get("/console/operations/report", params={"kind": "article"}).text
    assert "=1+2" in articles and "MB.XD.001" not in articles
    assert desk.get("/console/operations/report", params={"state": "bogus"}).status_code == 404


def test_the_report_as_csv(desk) -> None:
    answer = desk.get("/console/operations/report.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        answer.headers["content-disposition"] == 'attachment; filename="bao-cao-cong-khai-20261220-1004.csv"'
    )
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Loại", "Mã", "Phiên bản hiện hành", "Cổng thông tin: phiên bản đã công khai"]
    assert len(rows) == 1 + 3
    assert rows[1] == ["Thủ tục", "MB.XD.001", "3", "3", "Đã cập nhật", "2", "Chậm phiên bản"]
    assert rows[3] == ["Tin bài", "'=1+2", "1", "", "Chưa có", "", "Không áp dụng"]  # never a formula
    problems = desk.get("/console/operations/report.csv", params={"state": "problems"}).content
    assert len(list(csv.reader(io.StringIO(problems.decode("utf-8-sig"))))) == 1 + 2


def test_when_the_notifier_is_down_the_pages_say_so(client, add_account) -> None:
    add_account("van.hanh", "operator")
    sign_in(client, "van.hanh", PASSWORD)
    page = client.get("/console/operations")
    assert page.status_code == 503 and "Không kết nối được dịch vụ công khai" in page.text
    assert "Nhật ký thao tác" in page.text  # the console's own log is still shown
    outboxes = section(page.text, "hang-cho-gui")  # the owners are asked all the same
    assert outboxes.count("không liên lạc được dịch vụ này") == 3
    assert "Không thấy điều gì bất thường" not in page.text
    for path in (
        "/console/operations/reconciliation",
        "/console/operations/report",
        "/console/operations/report.csv",
    ):
        down = client.get(path)
        assert down.status_code == 503 and "Không kết nối được dịch vụ công khai" in down.text, path
    token = csrf_of(client, "/console/operations/resync/portal")
    down = client.post("/console/operations/resync/portal", data={"csrf_token": token})
    assert down.status_code == 503 and "Chưa có gì thay đổi" in down.text
