"""The documents desk in-process: who gets in (editors and approvers; approvers only
read), forged posts refused, the typed form kept when the content service is down, and,
against a small stand-in of the content API, a relation picked from the documents already
filed, the API's 422 beside its field, and a correction's history with the corrector's
full name and each field's old and new value. The pages against the running system:
tests/e2e/test_console_documents.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from console.app import create_app
from console.settings import Settings
from minhbach_testing.plugin import serving
from services.console.tests.conftest import PASSWORD, csrf_of, hidden, sign_in

DOCUMENT = {
    "number": "20/KH-SXD",
    "type": "Kế hoạch",
    "title": "Kế hoạch tuyên truyền cải cách hành chính năm 2026",
    "issuer": "Sở Xây dựng tỉnh Thái Bình",
    "signed_on": "05/01/2026",
    "effective_on": "",
    "summary": "Tóm tắt khi mất kết nối",
    "procedure_codes": "MB.XD.001",
    "relations-0-kind": "replaces",
    "relations-0-number": "15/KH-UBND",
}


def document(document_id: int = 3, **more: Any) -> dict[str, Any]:
    return {
        "id": document_id,
        "version": 3,
        "number": "15/KH-UBND",
        "type": "Kế hoạch",
        "issuer": "UBND tỉnh Thái Bình",
        "signed_on": "2022-02-08",
        "effective_on": None,
        "title": "Kế hoạch tuyên truyền cải cách hành chính năm 2022",
        "summary": "",
        "attachment": None,
        "in_force": True,
        "relations": [],
        "related_by": [{"kind": "amended_by", "number": "21/KH-UBND", "document_id": 9}],
        "procedure_codes": ["MB.XD.001"],
        **more,
    }


HISTORY = {
    "document_id": 3,
    "number": "15/KH-UBND",
    "version": 3,
    "filed_by": "an.nguyen",
    "filed_at": "2026-12-01T09:00:00+07:00",
    "items": [
        {
            "version": 3,
            "corrected_by": "an.nguyen",
            "corrected_at": "2026-12-03T02:30:00Z",  # 09:30 in Vietnam
            "changes": {
                "signed_on": {"before": "2022-02-07", "after": "2022-02-08"},
                "in_force": {"before": True, "after": False},
            },
            "reason": "Nhập sai ngày ký",
        },
        {
            "version": 2,
            "corrected_by": "someone.gone",
            "corrected_at": "2026-12-02T10:00:00+07:00",
            "changes": {"title": {"before": "Ke hoach cu", "after": "Kế hoạch mới"}},
            "reason": None,
        },
    ],
}


class StandIn:
    """The content API's document reads and writes, canned; it records what it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.refuse: tuple[int, dict[str, Any]] | None = None
        self.app = FastAPI()

        @self.app.get("/v1/documents")
        def listing(request: Request) -> dict[str, Any]:
            self.sent.append(("list", dict(request.query_params.multi_items())))
            items = [
                document(3),
                document(
                    9,
                    number="21/KH-UBND",
                    title="Kế hoạch sửa đổi",
                    relations=[],
                    related_by=[],
                    in_force=False,
                ),
            ]
            return {"items": items, "total": 2, "page": 1, "size": 100}

        @self.app.get("/v1/documents/{document_id}")
        def read(document_id: int) -> Any:
            if document_id == 404:
                return JSONResponse({"detail": "document 404 not found", "errors": []}, status_code=404)
            return document(document_id)

        @self.app.get("/v1/documents/{document_id}/history")
        def history(document_id: int) -> dict[str, Any]:
            return HISTORY

        @self.app.post("/v1/documents")
        async def create(request: Request) -> Any:
            self.sent.append(("create", await request.json()))
            if self.refuse:
                status_code, answer = self.refuse
                return JSONResponse(answer, status_code=status_code)
            return JSONResponse(document(12), status_code=201)

        @self.app.patch("/v1/documents/{document_id}")
        async def correct(document_id: int, request: Request) -> Any:
            self.sent.append(("correct", await request.json()))
            if self.refuse:
                status_code, answer = self.refuse
                return JSONResponse(answer, status_code=status_code)
            return document(document_id)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    yield StandIn()


@pytest.fixture
def desk(make_settings: Callable[..., Settings], stand_in: StandIn) -> Iterator[TestClient]:
    with serving(stand_in.app) as url:
        settings = make_settings(content_url=url, portal_url="https://sxd.example.vn/portal")
        with TestClient(create_app(settings), raise_server_exceptions=False, follow_redirects=False) as c:
            yield c


PAGES = (
    "/console/documents",
    "/console/documents/new",
    "/console/documents/3",
    "/console/documents/3/correct",
)


def test_a_hotline_account_gets_no_document_page_or_post(client, add_account) -> None:
    add_account("hoa.le", "hotline")
    assert sign_in(client, "hoa.le", PASSWORD).status_code == 303
    assert "/console/documents" not in client.get("/console/").text  # not in the menu
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Không có quyền" in answer.text
    token = csrf_of(client)
    for path in ("/console/documents/new", "/console/documents/3/correct"):
        assert client.post(path, data={"csrf_token": token, **DOCUMENT}).status_code == 403, path


def test_an_approver_reads_but_is_offered_no_write_and_a_forged_one_is_refused(
    desk, add_account, stand_in
) -> None:
    add_account("lanh.dao", "approver")
    assert sign_in(desk, "lanh.dao", PASSWORD).status_code == 303
    assert 'href="/console/documents"' in desk.get("/console/").text  # the menu's "Văn bản"
    listing = desk.get("/console/documents")
    assert listing.status_code == 200 and "15/KH-UBND" in listing.text
    assert "Nhập văn bản mới" not in listing.text
    page = desk.get("/console/documents/3")
    assert page.status_code == 200 and "Lịch sử đính chính" in page.text
    assert "Đính chính văn bản" not in page.text and "/correct" not in page.text
    for path in ("/console/documents/new", "/console/documents/3/correct"):
        assert desk.get(path).status_code == 403, path
    token = csrf_of(desk)
    for path in ("/console/documents/new", "/console/documents/3/correct"):
        answer = desk.post(path, data={"csrf_token": token, **DOCUMENT, "reason": "x"})
        assert answer.status_code == 403, path
    assert [what for what, _ in stand_in.sent if what in ("create", "correct")] == []


def test_forged_posts_are_refused(desk, add_account, stand_in) -> None:
    add_account("an.nguyen", "editor")
    assert sign_in(desk, "an.nguyen", PASSWORD).status_code == 303
    for path in ("/console/documents/new", "/console/documents/3/correct"):
        for token in ({}, {"csrf_token": "forged"}):
            answer = desk.post(path, data={**token, **DOCUMENT, "reason": "x"})
            assert answer.status_code == 403, path
            assert "Biểu mẫu không hợp lệ" in answer.text
    assert [what for what, _ in stand_in.sent if what in ("create", "correct")] == []


def test_when_the_content_service_is_down_the_forms_keep_what_was_typed(client, add_account) -> None:
    add_account("an.nguyen", "editor")
    assert sign_in(client, "an.nguyen", PASSWORD).status_code == 303
    page = client.get("/console/documents/new")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    assert "Chưa tải được danh sách văn bản đã nhập" in page.text
    for name in (
        "number",
        "type",
        "title",
        "issuer",
        "signed_on",
        "effective_on",
        "summary",
        "procedure_codes",
        "attachment_file",
        "relations-0-kind",
        "relations-0-number",
    ):
        assert f'<label for="{name}">' in page.text, name
    form = {"csrf_token": hidden(page.text, "csrf_token"), **DOCUMENT}
    down = client.post("/console/documents/new", data=form)
    assert down.status_code == 503
    assert "Chưa nhập được" in down.text and "dịch vụ tin bài và văn bản" in down.text
    for typed in (
        'value="20/KH-SXD"',
        ">Kế hoạch tuyên truyền cải cách hành chính năm 2026</textarea>",
        'value="05/01/2026"',
        ">Tóm tắt khi mất kết nối</textarea>",
        'value="MB.XD.001"',
        '<option value="Kế hoạch" selected>',
        '<option value="replaces" selected>',
        # The relation picked stays picked though the list cannot be read.
        '<option value="15/KH-UBND" selected>15/KH-UBND</option>',
    ):
        assert typed in down.text, typed
    # Checks that need no owner are made here, beside each field.
    bad = client.post(
        "/console/documents/new",
        data={
            **form,
            "number": "",
            "signed_on": "31/02/2026",
            **{"relations-1-kind": "replaces", "relations-1-number": "15/KH-UBND"},
        },
    )
    assert bad.status_code == 422
    assert 'aria-describedby="number-hint number-error"' in bad.text
    assert 'aria-describedby="signed_on-hint signed_on-error"' in bad.text
    assert 'id="relations-1-error"' in bad.text and "đã có ở một dòng khác" in bad.text
    # "Thêm dòng quan hệ" adds a blank row without a script, and keeps the rest.
    more = client.post("/console/documents/new", data={**form, "intent": "add_row"})
    assert (
        more.status_code == 200
        and 'id="relations-2-number"' in more.text
        and 'value="20/KH-SXD"' in more.text
    )
    # A correction typed while it is down: kept, reason too.
    correct = client.post(
        "/console/documents/3/correct",
        data={**form, "number": "15/KH-UBND", "in_force": "0", "reason": "Nhập sai ngày ký"},
    )
    assert correct.status_code == 503 and "Chưa đính chính được" in correct.text
    assert ">Nhập sai ngày ký</textarea>" in correct.text and 'value="0" checked' in correct.text
    assert "Đính chính văn bản 15/KH-UBND" in correct.text
    # Pages that only read say the owner is unreachable, as a page.
    assert client.get("/console/documents").status_code == 503
    assert client.get("/console/documents/3").status_code == 503
    assert client.get("/console/documents/3/correct").status_code == 503


def test_a_relation_is_picked_from_the_filed_documents_and_the_apis_422_lands_beside_its_field(
    desk, add_account, stand_in
) -> None:
    add_account("an.nguyen", "editor")
    assert sign_in(desk, "an.nguyen", PASSWORD).status_code == 303
    assert "Nhập văn bản mới" in desk.get("/console/documents?type=Kế hoạch&q=tuyen truyen").text
    assert stand_in.sent[-1] == ("list", {"page": "1", "size": "30", "q": "tuyen truyen", "type": "Kế hoạch"})
    page = desk.get("/console/documents/new")
    assert (
        '<option value="15/KH-UBND">15/KH-UBND · Kế hoạch tuyên truyền cải cách hành chính năm 2022'
        in page.text
    )
    assert "21/KH-UBND · Kế hoạch sửa đổi (hết hiệu lực)</option>" in page.text
    form = {"csrf_token": hidden(page.text, "csrf_token"), **DOCUMENT}
    filed = desk.post("/console/documents/new", data=form)
    assert (
        filed.status_code == 303 and filed.headers["location"] == "/console/documents/12?msg=document_filed"
    )
    assert stand_in.sent[-1] == (
        "create",
        {
            "number": "20/KH-SXD",
            "type": "Kế hoạch",
            "issuer": "Sở Xây dựng tỉnh Thái Bình",
            "signed_on": "2026-01-05",
            "effective_on": None,
            "title": "Kế hoạch tuyên truyền cải cách hành chính năm 2026",
            "summary": "Tóm tắt khi mất kết nối",
            "attachment": None,
            "procedure_codes": ["MB.XD.001"],
            "relations": [{"kind": "replaces", "number": "15/KH-UBND"}],
        },
    )
    # The API's refusals, beside the field they name, the form as typed.
    stand_in.refuse = (
        422,
        {
            "detail": "x",
            "errors": [{"field": "relations[0].number", "message": "no document 15/KH-UBND; file it first"}],
        },
    )
    refused = desk.post("/console/documents/new", data=form)
    assert refused.status_code == 422 and 'id="relations-0-error"' in refused.text
    assert "Chưa có văn bản 15/KH-UBND: hãy nhập văn bản đó trước." in refused.text
    stand_in.refuse = (
        409,
        {
            "detail": "document 20/KH-SXD already exists",
            "errors": [{"field": "number", "message": "already exists"}],
        },
    )
    exists = desk.post("/console/documents/new", data=form)
    assert exists.status_code == 409 and 'id="number-error"' in exists.text
    assert 'aria-describedby="number-hint number-error"' in exists.text and 'value="20/KH-SXD"' in exists.text


def test_the_document_page_shows_each_correction_with_who_when_and_old_and_new_values(
    desk, add_account, stand_in
) -> None:
    add_account("an.nguyen", "editor", name="Nguyễn Văn An")
    assert sign_in(desk, "an.nguyen", PASSWORD).status_code == 303
    page = desk.get("/console/documents/3")
    assert page.status_code == 200
    text = page.text
    assert "Người nhập</dt><dd>Nguyễn Văn An, 01/12/2026 09:00" in text
    assert 'Được sửa đổi, bổ sung bởi <a href="/console/documents/9">21/KH-UBND</a>' in text
    assert 'href="https://sxd.example.vn/portal/van-ban/15-kh-ubnd.html"' in text
    assert 'Phiên bản 3: Nguyễn Văn An <small class="muted">(an.nguyen)</small>, 03/12/2026 09:30' in text
    assert "Lý do: “Nhập sai ngày ký”" in text
    for label, before, after in (
        ("Ngày ký", "07/02/2022", "08/02/2022"),
        ("Hiệu lực", "Còn hiệu lực", "Hết hiệu lực"),
        ("Trích yếu", "Ke hoach cu", "Kế hoạch mới"),
    ):
        assert (
            f'<tr><th scope="row">{label}</th><td><del><span class="visually-hidden">Cũ: </span>{before}'
            f'</del></td><td><ins><span class="visually-hidden">Mới: </span>{after}</ins></td></tr>'
        ) in text, label
    # An account the console does not know is shown by its username.
    assert "Phiên bản 2: someone.gone, 02/12/2026 10:00" in text
    assert 'href="/console/documents/3/correct">Đính chính văn bản</a>' in text
    assert desk.get("/console/documents/404").status_code == 404


def test_a_correction_sends_every_field_and_the_reason_and_a_no_op_is_said_plainly(
    desk, add_account, stand_in
) -> None:
    add_account("an.nguyen", "editor")
    assert sign_in(desk, "an.nguyen", PASSWORD).status_code == 303
    page = desk.get("/console/documents/3/correct")
    assert page.status_code == 200
    for prefilled in (
        'value="08/02/2022"',
        ">Kế hoạch tuyên truyền cải cách hành chính năm 2022</textarea>",
        'value="UBND tỉnh Thái Bình"',
        'value="MB.XD.001"',
        'id="in_force-1" name="in_force" value="1" checked',
        "Được sửa đổi, bổ sung bởi</dt><dd>21/KH-UBND",
    ):
        assert prefilled in page.text, prefilled
    assert '<label for="reason">Lý do đính chính</label>' in page.text
    assert 'name="number" value="15/KH-UBND"' in page.text and 'id="number"' not in page.text
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "number": "15/KH-UBND",
        "type": "Kế hoạch",
        "title": "Kế hoạch tuyên truyền cải cách hành chính năm 2022",
        "issuer": "UBND tỉnh Thái Bình",
        "signed_on": "07/02/2022",
        "effective_on": "",
        "summary": "",
        "procedure_codes": "MB.XD.001",
        "in_force": "1",
        "reason": "",
    }
    sent_before = len(stand_in.sent)
    no_reason = desk.post("/console/documents/3/correct", data=form)
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.text
    assert 'value="07/02/2022"' in no_reason.text and len(stand_in.sent) == sent_before
    done = desk.post("/console/documents/3/correct", data={**form, "reason": "Nhập sai ngày ký"})
    assert done.status_code == 303
    assert done.headers["location"] == "/console/documents/3?msg=document_corrected"
    assert stand_in.sent[-1] == (
        "correct",
        {
            "type": "Kế hoạch",
            "issuer": "UBND tỉnh Thái Bình",
            "signed_on": "2022-02-07",
            "effective_on": None,
            "title": "Kế hoạch tuyên truyền cải cách hành chính năm 2022",
            "summary": "",
            "attachment": None,
            "procedure_codes": ["MB.XD.001"],
            "in_force": True,
            "reason": "Nhập sai ngày ký",
        },
    )
    assert "Đã đính chính văn bản" in desk.get(done.headers["location"]).text
    # Nothing differs: one plain message, not one per field.
    unchanged = "unchanged: it already has this value; nothing to correct"
    stand_in.refuse = (
        422,
        {
            "detail": "x",
            "errors": [{"field": f, "message": unchanged} for f in ("type", "signed_on", "title")],
        },
    )
    same = desk.post("/console/documents/3/correct", data={**form, "reason": "Thử"})
    assert same.status_code == 422 and "Chưa có gì để đính chính" in same.text
    assert 'id="title-error"' not in same.text and ">Thử</textarea>" in same.text
    stand_in.refuse = (
        422,
        {
            "detail": "x",
            "errors": [
                {
                    "field": "procedure_codes[0]",
                    "code": "MB.XD.009",
                    "message": "no published procedure MB.XD.009",
                }
            ],
        },
    )
    unknown = desk.post(
        "/console/documents/3/correct", data={**form, "procedure_codes": "MB.XD.009", "reason": "Mã"}
    )
    assert unknown.status_code == 422 and 'id="procedure_codes-error"' in unknown.text
    assert "Không có thủ tục mã MB.XD.009" in unknown.text and 'value="MB.XD.009"' in unknown.text
