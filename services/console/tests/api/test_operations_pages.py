"""The operator's pages in-process, against a small stand-in of the notifier API: only
operators get in, forged posts are refused, retry one / retry a channel / resync call the
notifier's endpoints and are written to the action log (a refusal too), the disclosure
report as a table and as CSV (with a BOM for Excel), its filters, and a notifier that is
down says so plainly. The pages against the running system: tests/e2e/test_console_operations.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from console.app import create_app
from console.settings import Settings
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


class StandIn:
    """The notifier's operator reads and writes, canned; it records what it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.refuse: tuple[int, dict[str, Any]] | None = None
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
                },
                {"name": "center", "health": "ok", "lag_s": 0.0, "backlog": 0, "failed": 0, "dead": 0},
            ]

        @self.app.get("/v1/ops/queues")
        def queues() -> dict[str, Any]:
            return {
                "queues": [{"queue": "channel.portal", "depth": 2, "oldest_age_s": 95.0, "dead_letters": 1}],
                "unacked": 1,
                "channel_runs": {"portal": 12},
            }

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


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    yield StandIn()


@pytest.fixture
def desk(make_settings: Callable[..., Settings], stand_in: StandIn, add_account: Any) -> Iterator[TestClient]:
    with serving(stand_in.app) as url:
        settings = make_settings(notifier_url=url)
        with TestClient(create_app(settings), raise_server_exceptions=False, follow_redirects=False) as c:
            add_account("van.hanh", "operator", name="Phạm Văn Hành")
            assert sign_in(c, "van.hanh", PASSWORD).status_code == 303
            yield c


PAGES = ("/console/operations", "/console/operations/report", "/console/operations/report.csv")
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
    for path in ("/console/operations/report", "/console/operations/report.csv"):
        down = client.get(path)
        assert down.status_code == 503 and "Không kết nối được dịch vụ công khai" in down.text, path
    token = csrf_of(client, "/console/operations/resync/portal")
    down = client.post("/console/operations/resync/portal", data={"csrf_token": token})
    assert down.status_code == 503 and "Chưa có gì thay đổi" in down.text
