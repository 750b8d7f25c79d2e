"""The hotline desk in-process: who gets in (officers and approvers, not editors), forged
posts refused, the typed form kept when the hotline service is down, and, against a small
stand-in of the hotline API, the queue's deadline words, the actions a state and a role
allow, and the public preview with every redaction marked. The pages against the running
system: tests/e2e/test_console_hotline.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from console.app import create_app
from console.decision_form import today_in_vietnam
from console.settings import Settings
from minhbach_testing.plugin import serving
from services.console.tests.conftest import PASSWORD, csrf_of, hidden, sign_in

TODAY = today_in_vietnam()
DIGEST = "a" * 64


def ticket(status: str = "assigned", **more: Any) -> dict[str, Any]:
    allowed = {
        "received": ["accept", "reject", "forward", "wait", "mark-duplicate"],
        "assigned": ["assign", "wait", "answer", "mark-duplicate"],
        "answered": ["answer", "approve"],
        "approved": ["publish"],
        "published": ["close", "withdraw"],
    }[status]
    return {
        "id": 7,
        "tracking_code": "PAKN-2026-000007",
        "kind": "phan_anh",
        "channel": "phone",
        "status": status,
        "allowed_actions": allowed,
        "subject": "Chậm cấp phép",
        "body": "Tôi là Trần Văn Nam, gọi 0912 345 678.",
        "procedure_code": None,
        "submitter": {"name": "Trần Văn Nam", "phone": "0912 345 678", "email": None, "address": None},
        "consent_to_publish": True,
        "redaction_marks": [],
        "public_subject_override": None,
        "public_question_override": None,
        "public_subject": "Chậm cấp phép",
        "public_question": "Tôi là [đã ẩn], gọi [đã ẩn].",
        "answer": "Sở đã gọi số 0912 345 678." if status != "assigned" else None,
        "public_answer": None,
        "internal_notes": "[2026-12-01 09:00 duongday] đã gọi lại",
        "citizen_reason": None,
        "forwarded_to": None,
        "unit": "Phòng Quản lý xây dựng",
        "unit_due_on": None,
        "duplicate_of": None,
        "received_at": "2026-12-01T09:00:00+07:00",
        "classify_due_on": TODAY.isoformat(),
        "accepted_at": None,
        "answer_due_on": (TODAY - timedelta(days=1)).isoformat(),
        "paused_at": None,
        "paused_working_days": 0,
        "answered_at": None,
        "approved_at": None,
        "approved_by": None,
        "published_at": "2026-12-02T09:00:00+07:00" if status == "published" else None,
        "closed_at": None,
        "is_public": status == "published",
        "version": 0,
        "transitions": [
            {
                "action": "receive",
                "from_status": None,
                "to_status": "received",
                "actor": "duongday",
                "at": "2026-12-01T09:00:00+07:00",
                "note": None,
            },
            {
                "action": "assign",
                "from_status": "accepted",
                "to_status": "assigned",
                "actor": "duongday",
                "at": "2026-12-01T10:00:00+07:00",
                "note": "giao gấp",
            },
        ],
        **more,
    }


class StandIn:
    """The hotline API's staff reads and writes, canned; it records what it was sent."""

    def __init__(self) -> None:
        self.status = "assigned"
        self.sent: list[tuple[str, Any]] = []
        self.refuse: tuple[int, dict[str, Any]] | None = None
        self.app = FastAPI()

        @self.app.get("/v1/tickets")
        def listing(request: Request) -> dict[str, Any]:
            self.sent.append(("list", dict(request.query_params.multi_items())))
            rows = [
                (1, "received", "Quá hạn rồi", "phan_anh", "phone", None, -2),
                (2, "accepted", "Hạn hôm nay", "kien_nghi", "web", None, 0),
                (3, "assigned", "Còn lâu", "phan_anh", "email", "Phòng A", 5),
            ]
            items = [
                {
                    "id": i,
                    "tracking_code": f"PAKN-2026-00000{i}",
                    "kind": kind,
                    "channel": channel,
                    "status": status,
                    "subject": subject,
                    "unit": unit,
                    "received_at": "2026-12-01T09:00:00+07:00",
                    "due_on": (TODAY + timedelta(days=days)).isoformat(),
                }
                for i, status, subject, kind, channel, unit, days in rows
            ]
            return {"items": items, "total": 3, "page": 1, "size": 50}

        self.units = [
            {"id": 1, "name": "Phòng Quản lý xây dựng", "active": True},
            {"id": 2, "name": "Thanh tra Sở", "active": True},
            {"id": 3, "name": "Phòng Cũ", "active": False},
        ]

        @self.app.get("/v1/units")
        def units() -> dict[str, Any]:
            return {"items": self.units}

        @self.app.post("/v1/units")
        async def add_unit(request: Request) -> Any:
            self.sent.append(("add-unit", await request.json()))
            if self.refuse:
                status_code, answer = self.refuse
                return JSONResponse(answer, status_code=status_code)
            return JSONResponse({"id": 9, "name": "x", "active": True}, status_code=201)

        @self.app.patch("/v1/units/{unit_id}")
        async def change_unit(unit_id: int, request: Request) -> Any:
            self.sent.append((f"unit-{unit_id}", await request.json()))
            if self.refuse:
                status_code, answer = self.refuse
                return JSONResponse(answer, status_code=status_code)
            return {"id": unit_id, "name": "x", "active": True}

        @self.app.get("/v1/tickets/{ticket_id}")
        def read(ticket_id: int) -> dict[str, Any]:
            return ticket(self.status)

        @self.app.get("/v1/tickets/{ticket_id}/publication-preview")
        def preview(ticket_id: int) -> dict[str, Any]:
            return {
                "tracking_code": "PAKN-2026-000007",
                "consent_to_publish": True,
                "subject": "Chậm cấp phép",
                "question": "Tôi là [đã ẩn], gọi [đã ẩn].",
                "answer": "Sở đã gọi số [đã ẩn]. <b>không phải thẻ</b>",
                "digest": DIGEST,
            }

        @self.app.post("/v1/tickets/{ticket_id}/{action}")
        async def write(ticket_id: int, action: str, request: Request) -> Any:
            body = await request.json() if await request.body() else None
            self.sent.append((action, body))
            if self.refuse:
                status_code, answer = self.refuse
                return JSONResponse(answer, status_code=status_code)
            return ticket(self.status)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    yield StandIn()


@pytest.fixture
def desk(make_settings: Callable[..., Settings], stand_in: StandIn) -> Iterator[TestClient]:
    with serving(stand_in.app) as url:
        settings = make_settings(hotline_url=url, portal_url="https://sxd.example.vn/portal")
        with TestClient(create_app(settings), raise_server_exceptions=False, follow_redirects=False) as c:
            yield c


HOTLINE_PAGES = (
    "/console/hotline",
    "/console/hotline/new",
    "/console/hotline/7",
    "/console/hotline/7/answer",
)


def test_an_editor_gets_403_on_every_hotline_page_and_post(client, add_account) -> None:
    add_account("bien.tap", "editor")
    assert sign_in(client, "bien.tap", PASSWORD).status_code == 303
    for path in HOTLINE_PAGES:
        assert client.get(path).status_code == 403, path
    token = csrf_of(client)
    for action in ("new", "7/accept", "7/note", "7/answer", "7/approve", "7/publish"):
        answer = client.post(f"/console/hotline/{action}", data={"csrf_token": token, "note": "x"})
        assert answer.status_code == 403, action
        assert "Không có quyền" in answer.text


def test_an_approver_may_read_but_not_do_an_officers_work(client, add_account) -> None:
    add_account("lanh.dao", "approver")
    sign_in(client, "lanh.dao", PASSWORD)
    assert client.get("/console/hotline/new").status_code == 403
    token = csrf_of(client)
    for action in ("new", "7/accept", "7/assign", "7/answer"):
        assert client.post(f"/console/hotline/{action}", data={"csrf_token": token}).status_code == 403, (
            action
        )
    # Reading needs the hotline service, which is down here: a page that says so.
    down = client.get("/console/hotline")
    assert down.status_code == 503 and "đường dây nóng" in down.text


def test_forged_posts_are_refused(client, add_account) -> None:
    add_account("hoa.le", "hotline")
    sign_in(client, "hoa.le", PASSWORD)
    for data in ({}, {"csrf_token": "forged"}):
        answer = client.post("/console/hotline/7/note", data={**data, "note": "giả mạo"})
        assert answer.status_code == 403
        assert "Biểu mẫu không hợp lệ" in answer.text
        assert client.post("/console/hotline/new", data={**data, "subject": "x"}).status_code == 403


def test_when_the_hotline_is_down_the_typed_form_stays(client, add_account) -> None:
    add_account("hoa.le", "hotline")
    sign_in(client, "hoa.le", PASSWORD)
    page = client.get("/console/hotline/new")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text and "<legend>Người gọi</legend>" in page.text
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "kind": "kien_nghi",
        "channel": "phone",
        "subject": "Đề nghị niêm yết phí",
        "body": "Người gọi đề nghị niêm yết rõ lệ phí cấp phép.",
        "name": "Lê Thị Hoa",
        "phone": "0987 654 321",
        "consent_to_publish": "1",
        "note": "gọi lúc 9 giờ",
    }
    down = client.post("/console/hotline/new", data=form)
    assert down.status_code == 503
    assert "Chưa ghi nhận được" in down.text and "vẫn còn trên trang này" in down.text
    for typed in (
        'value="Đề nghị niêm yết phí"',
        ">Người gọi đề nghị niêm yết rõ lệ phí cấp phép.</textarea>",
        'value="0987 654 321"',
        ">gọi lúc 9 giờ</textarea>",
        'value="kien_nghi" checked',
    ):
        assert typed in down.text, typed
    # Checks that need no owner are made here, beside each field.
    missing = client.post("/console/hotline/new", data={**form, "subject": "", "phone": ""})
    assert missing.status_code == 422
    assert 'aria-describedby="subject-error"' in missing.text and 'id="subject-error"' in missing.text
    assert 'aria-describedby="phone-hint phone-error"' in missing.text
    # An action's form, and the answer, as typed, alone on a page.
    token = csrf_of(client, "/console/hotline/new")
    note = client.post("/console/hotline/7/note", data={"csrf_token": token, "note": "Đã gọi lại lúc 10 giờ"})
    assert note.status_code == 503 and ">Đã gọi lại lúc 10 giờ</textarea>" in note.text
    answer = client.post("/console/hotline/7/answer", data={"csrf_token": token, "answer": "Kính gửi ông"})
    assert answer.status_code == 503 and ">Kính gửi ông</textarea>" in answer.text
    assert client.get("/console/hotline/7").status_code == 503


def test_the_queue_says_each_deadline_in_words_and_sends_the_filters(desk, add_account, stand_in) -> None:
    add_account("hoa.le", "hotline")
    sign_in(desk, "hoa.le", PASSWORD)
    page = desk.get("/console/hotline", params={"kind": "phan_anh", "channel": "phone", "unit": "Phòng A"})
    assert page.status_code == 200, page.text
    for words in ("Quá hạn", "Đến hạn hôm nay", "Còn hạn", "đã quá 2 ngày", 'scope="col"'):
        assert words in page.text, words
    assert page.text.index("Quá hạn rồi") < page.text.index("Hạn hôm nay") < page.text.index("Còn lâu")
    sent = stand_in.sent[-1][1]
    assert sent["order"] == "due" and sent["kind"] == "phan_anh" and sent["channel"] == "phone"
    assert sent["unit"] == "Phòng A"
    desk.get("/console/hotline", params={"status": "all", "kind": "bogus"})
    assert "status" not in stand_in.sent[-1][1] and "kind" not in stand_in.sent[-1][1]
    desk.get("/console/hotline", params={"status": "rejected"})
    assert stand_in.sent[-1][1]["status"] == "rejected"


def test_a_ticket_shows_its_timeline_and_only_the_actions_allowed(desk, add_account, stand_in) -> None:
    add_account("hoa.le", "hotline")
    sign_in(desk, "hoa.le", PASSWORD)
    page = desk.get("/console/hotline/7")
    assert page.status_code == 200, page.text
    assert "Giao đơn vị" in page.text and "giao gấp" in page.text and "Quá hạn" in page.text
    assert "đã gọi lại" in page.text  # internal notes
    for shown in ("/7/assign", "/7/wait", "/7/mark-duplicate", "/7/note", "/7/answer"):
        assert f'action="/console/hotline{shown}"' in page.text or shown == "/7/answer", shown
    for hidden_action in ("/7/accept", "/7/reject", "/7/approve", "/7/publish", "/7/resume"):
        assert f'action="/console/hotline{hidden_action}"' not in page.text, hidden_action
    # A reason the API requires is asked for here, beside its field; nothing is sent.
    token = csrf_of(desk, "/console/hotline/7")
    sent_before = len(stand_in.sent)
    empty = desk.post("/console/hotline/7/wait", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and 'id="wait-reason-error"' in empty.text
    assert 'aria-describedby="wait-reason-hint wait-reason-error"' in empty.text
    assert len(stand_in.sent) == sent_before
    # The API's 422 lands beside the field too, with what was typed kept.
    past = {"field": "due_on", "message": "the unit's due date is already past"}
    stand_in.refuse = (422, {"detail": "due_on: x", "errors": [past]})
    later = (TODAY + timedelta(days=3)).strftime("%d/%m/%Y")
    refused = desk.post(
        "/console/hotline/7/assign", data={"csrf_token": token, "unit": "Phòng B", "due_on": later}
    )
    assert refused.status_code == 422 and 'id="assign-due_on-error"' in refused.text
    assert "Hạn của đơn vị đã qua" in refused.text and 'value="Phòng B"' in refused.text
    assert stand_in.sent[-1] == (
        "assign",
        {"unit": "Phòng B", "due_on": (TODAY + timedelta(days=3)).isoformat()},
    )
    # A 409 (someone moved it on) is said above the actions now allowed, never a 500.
    stand_in.refuse = (409, {"detail": "cannot wait a ticket that is answered; allowed now: answer, approve"})
    moved = desk.post("/console/hotline/7/wait", data={"csrf_token": token, "reason": "Cần số hồ sơ"})
    assert moved.status_code == 409 and "có thể ai đó vừa xử lý nó" in moved.text
    stand_in.refuse = None
    done = desk.post("/console/hotline/7/note", data={"csrf_token": token, "note": "Đã gọi lại"})
    assert done.status_code == 303 and done.headers["location"] == "/console/hotline/7?msg=note_added"
    assert stand_in.sent[-1] == ("notes", {"note": "Đã gọi lại"})
    assert desk.post("/console/hotline/7/launch", data={"csrf_token": token}).status_code == 404


def test_the_composer_marks_every_redaction_and_approves_that_preview(desk, add_account, stand_in) -> None:
    add_account("lanh.dao", "approver")
    sign_in(desk, "lanh.dao", PASSWORD)
    stand_in.status = "answered"
    page = desk.get("/console/hotline/7/answer")
    assert page.status_code == 200, page.text
    assert page.text.count('<mark class="redacted">[đã ẩn]</mark>') == 4  # 3 in the text, 1 in the hint
    assert "3 chỗ" in page.text
    assert "&lt;b&gt;không phải thẻ&lt;/b&gt;" in page.text  # the preview is text, escaped
    assert f'name="preview_digest" value="{DIGEST}"' in page.text
    assert 'action="/console/hotline/7/answer"' not in page.text  # an approver does not write it
    token = hidden(page.text, "csrf_token")
    approved = desk.post("/console/hotline/7/approve", data={"csrf_token": token, "preview_digest": DIGEST})
    assert approved.status_code == 303
    assert stand_in.sent[-1] == ("approve", {"preview_digest": DIGEST})
    assert desk.post("/console/hotline/7/approve", data={"csrf_token": token}).status_code == 422
    stand_in.status = "approved"
    page = desk.get("/console/hotline/7/answer")
    assert 'action="/console/hotline/7/publish"' in page.text and "preview_digest" not in page.text
    stand_in.status = "published"
    page = desk.get("/console/hotline/7")
    assert 'href="https://sxd.example.vn/portal/hoi-dap/PAKN-2026-000007.html"' in page.text


def test_an_officer_writes_the_answer_beside_the_public_version(desk, add_account, stand_in) -> None:
    add_account("hoa.le", "hotline")
    sign_in(desk, "hoa.le", PASSWORD)
    page = desk.get("/console/hotline/7/answer")
    assert page.status_code == 200
    assert 'action="/console/hotline/7/answer"' in page.text and "preview_digest" not in page.text
    token = hidden(page.text, "csrf_token")
    saved = desk.post(
        "/console/hotline/7/answer",
        data={"csrf_token": token, "answer": "Kính gửi ông", "redact": "tổ 5\n\ntổ 5\nngõ 3"},
    )
    assert (
        saved.status_code == 303
        and saved.headers["location"] == "/console/hotline/7/answer?msg=ticket_answered"
    )
    assert stand_in.sent[-1] == ("answer", {"answer": "Kính gửi ông", "redact": ["tổ 5", "ngõ 3"]})


def test_assignment_picks_a_unit_in_service_from_the_list(desk, add_account, stand_in) -> None:
    add_account("hoa.le", "hotline")
    sign_in(desk, "hoa.le", PASSWORD)
    page = desk.get("/console/hotline/7").text
    assert '<select id="assign-unit" name="unit" required>' in page
    assert '<option value="Thanh tra Sở">' in page and "Phòng Cũ" not in page  # retired: not offered
    token = csrf_of(desk, "/console/hotline/7")
    not_listed = {"field": "unit", "message": "not one of the Department's units; pick one from the list"}
    stand_in.refuse = (422, {"detail": "unit: x", "errors": [not_listed]})
    refused = desk.post("/console/hotline/7/assign", data={"csrf_token": token, "unit": "Phòng Ma"})
    assert refused.status_code == 422 and 'id="assign-unit-error"' in refused.text
    assert "Chọn một đơn vị trong danh sách đơn vị của Sở." in refused.text
    # The queue filters by any unit, retired ones included (their old tickets).
    queue = desk.get("/console/hotline").text
    assert '<select id="unit" name="unit">' in queue and "<option>Phòng Cũ</option>" in queue


def test_only_an_approver_is_offered_the_withdrawal_and_it_sends_the_reason(
    desk, add_account, stand_in
) -> None:
    stand_in.status = "published"
    add_account("hoa.le", "hotline")
    add_account("lanh.dao", "approver")
    sign_in(desk, "hoa.le", PASSWORD)
    officer_page = desk.get("/console/hotline/7").text
    assert 'action="/console/hotline/7/withdraw"' not in officer_page
    token = csrf_of(desk, "/console/hotline/7")
    assert (
        desk.post("/console/hotline/7/withdraw", data={"csrf_token": token, "reason": "x"}).status_code == 403
    )
    assert ("withdraw", {"reason": "x"}) not in stand_in.sent

    desk.cookies.clear()
    sign_in(desk, "lanh.dao", PASSWORD)
    page = desk.get("/console/hotline/7").text
    assert 'action="/console/hotline/7/withdraw"' in page and "Gỡ câu trả lời" in page
    token = csrf_of(desk, "/console/hotline/7")
    empty = desk.post("/console/hotline/7/withdraw", data={"csrf_token": token, "reason": ""})
    assert empty.status_code == 422 and 'id="withdraw-reason-error"' in empty.text
    done = desk.post("/console/hotline/7/withdraw", data={"csrf_token": token, "reason": "Lộ số nhà"})
    assert done.status_code == 303 and done.headers["location"] == "/console/hotline/7?msg=ticket_withdrawn"
    assert stand_in.sent[-1] == ("withdraw", {"reason": "Lộ số nhà"})


def test_the_units_list_is_an_admins_and_says_each_refusal_beside_its_field(
    desk, add_account, stand_in
) -> None:
    add_account("hoa.le", "hotline")
    add_account("quan.tri", "admin")
    sign_in(desk, "hoa.le", PASSWORD)
    assert desk.get("/console/units").status_code == 403
    assert "/console/units" not in desk.get("/console/").text  # not in the menu either
    token = csrf_of(desk, "/console/hotline")
    assert desk.post("/console/units", data={"csrf_token": token, "name": "Phòng Mới"}).status_code == 403

    desk.cookies.clear()
    sign_in(desk, "quan.tri", PASSWORD)
    page = desk.get("/console/units")
    assert page.status_code == 200 and 'href="/console/units"' in page.text
    assert "Thanh tra Sở" in page.text and "Khôi phục" in page.text and "Ngừng hoạt động" in page.text
    token = csrf_of(desk, "/console/units")
    assert desk.post("/console/units", data={"csrf_token": "forged", "name": "Phòng Mới"}).status_code == 403
    blank = desk.post("/console/units", data={"csrf_token": token, "name": "  "})
    assert blank.status_code == 422 and 'id="new-name-error"' in blank.text
    added = desk.post("/console/units", data={"csrf_token": token, "name": " Phòng  Mới "})
    assert added.status_code == 303 and added.headers["location"] == "/console/units?msg=unit_added"
    assert stand_in.sent[-1] == ("add-unit", {"name": "Phòng Mới"})
    clash = {"field": "name", "message": "a unit named Thanh tra Sở already exists (in service)"}
    stand_in.refuse = (422, {"detail": "name: x", "errors": [clash]})
    renamed = desk.post("/console/units/1", data={"csrf_token": token, "name": "Thanh tra Sở"})
    assert renamed.status_code == 422 and 'id="unit-1-error"' in renamed.text
    assert "Đã có đơn vị trùng tên này" in renamed.text
    stand_in.refuse = None
    assert desk.post("/console/units/2/retire", data={"csrf_token": token}).status_code == 303
    assert stand_in.sent[-1] == ("unit-2", {"active": False})
    assert desk.post("/console/units/3/restore", data={"csrf_token": token}).status_code == 303
    assert stand_in.sent[-1] == ("unit-3", {"active": True})
