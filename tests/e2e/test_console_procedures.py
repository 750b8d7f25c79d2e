"""The console's procedure pages against the running system: an editor finds, writes and
previews procedures through the procedures API as herself; what she types survives any
refusal; the preview is the portal's own page; any two versions compare side by side."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from minhbach_testing.harness import System


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def new_code() -> str:
    return f"CON.{uuid.uuid4().hex[:8].upper()}"


# A procedure with every component but the two the test leaves out (fees and legal_basis).
def incomplete_form(code: str, name: str) -> dict[str, str]:
    return {
        "code": code,
        "name": name,
        "field": "Hoạt động xây dựng",
        "level": "Cấp tỉnh",
        "agency": "Sở Xây dựng tỉnh Thái Bình",
        "result": "Giấy phép",
        "subjects-0": "Tổ chức",
        "subjects-1": "Cá nhân",
        "steps-0": "Bước 1: Nộp hồ sơ",
        "steps-1": "Bước 2: Nhận kết quả",
        "submission_methods-0": "Trực tuyến",
        "dossier-0-name": "Đơn đề nghị",
        "dossier-0-originals": "1",
        "dossier-0-copies": "",
        "processing_time_value": "15",
        "processing_time_unit": "working_days",
        "forms-none": "1",
        "requirements-none": "1",
        "online_service": "toàn trình",
    }


def save_new(client: httpx.Client, form: dict[str, str]) -> httpx.Response:
    page = client.get("/console/procedures/new")
    assert page.status_code == 200
    return client.post("/console/procedures/new", data={"csrf_token": csrf(page), **form})


def test_an_editor_writes_a_procedure_and_sees_exactly_what_is_missing(system: System) -> None:
    code = new_code()
    with system.console("bientap") as editor:
        saved = save_new(editor, incomplete_form(code, "Cấp phép thử nghiệm bảng điều khiển"))
        assert saved.status_code == 303, saved.text
        page = editor.get(saved.headers["location"])
        assert "Đã lưu bản nháp" in page.text
        assert "Còn thiếu 2 thành phần bắt buộc" in page.text
        missing = page.text.split("Còn thiếu 2 thành phần bắt buộc")[1].split("</ul>")[0]
        assert "Phí, lệ phí" in missing and "Căn cứ pháp lý" in missing
        assert "Người tạo: bientap" in page.text  # the procedures API recorded her, not the console

        # The list finds the draft by name without diacritics, under the drafts filter.
        found = editor.get("/console/procedures", params={"q": "cap phep thu nghiem bang", "status": "draft"})
        assert code in found.text

        # Completing it: the edit form carries every stored value, and "Thêm dòng" adds a row.
        form = editor.get(f"/console/procedures/{code}/edit")
        assert 'value="Đơn đề nghị"' in form.text and 'value="15"' in form.text
        data = {**incomplete_form(code, "Cấp phép thử nghiệm bảng điều khiển"), "csrf_token": csrf(form)}
        data.pop("code")
        more = editor.post(f"/console/procedures/{code}/edit", data={**data, "add_row": "fees"})
        assert more.status_code == 200 and 'id="fees-1-name"' in more.text
        data.update(
            {"fees-0-name": "Lệ phí", "fees-0-amount": "150.000", "legal_basis-0": "Luật Xây dựng 2014"}
        )
        done = editor.post(f"/console/procedures/{code}/edit", data=data)
        assert done.status_code == 303
        assert "Đã đủ các thành phần bắt buộc" in editor.get(f"/console/procedures/{code}").text
    with system.procedures() as api:
        draft = api.get(f"/v1/procedures/{code}/draft", headers=system.token(system_role("editor"))).json()
    assert draft["missing"] == [] and draft["fees"] == [
        {"name": "Lệ phí", "amount_vnd": 150000, "note": None}
    ]


def system_role(name: str) -> Any:
    from minhbach_shared.auth import Role

    return Role(name)


def test_a_refused_save_keeps_what_was_typed_and_names_the_field(system: System) -> None:
    with system.console("bientap") as editor:
        form = incomplete_form("MB.XD.001", "Trùng mã với thủ tục mẫu")  # the demo's code: taken
        form["fees-0-name"] = "Lệ phí"
        form["fees-0-amount"] = "một trăm"
        refused = save_new(editor, form)
        assert refused.status_code == 422
        assert 'id="fees-error"' in refused.text and "phải là số đồng" in refused.text
        # What she typed is all still there, the unreadable amount too.
        assert "Trùng mã với thủ tục mẫu" in refused.text and 'value="một trăm"' in refused.text
        form.pop("fees-0-amount")
        taken = save_new(editor, form)
        assert taken.status_code == 409
        assert "Trùng mã với thủ tục mẫu" in taken.text and 'value="MB.XD.001"' in taken.text
        assert 'id="code-error"' in taken.text and "đã có trong hệ thống" in taken.text


def test_the_preview_is_the_portals_own_page_for_the_draft(system: System) -> None:
    code = new_code()
    with system.console("bientap") as editor:
        form = incomplete_form(code, "Thủ tục xem trước trên Cổng")
        form.update(
            {"fees-0-name": "Phí thẩm định", "fees-0-amount": "200000", "legal_basis-0": "Nghị định 15"}
        )
        assert save_new(editor, form).status_code == 303
        preview = editor.get(f"/console/procedures/{code}/preview")
    assert preview.status_code == 200
    assert "Thủ tục xem trước trên Cổng" in preview.text and "200.000" in preview.text
    assert "script-src" not in preview.headers["content-security-policy"]  # nothing runs in it
    # The same template as a published procedure's page on the portal.
    published = system.portal_page("thu-tuc/MB.XD.001.html").text
    marker = '<dl class="components">'
    assert marker in preview.text and marker in published


def test_two_versions_compare_component_by_component(system: System) -> None:
    with system.console("pheduyet") as approver:
        page = approver.get("/console/procedures/MB.XD.001/history", params={"a": "1", "b": "1"})
        assert page.status_code == 200
        assert "Phiên bản 1" in page.text
    with system.console("bientap") as editor:
        form = editor.get("/console/procedures/MB.XD.001/edit")
        assert form.status_code == 200
    # An approver sees the pages but is offered no edit; a hotline officer is not let in.
    with system.console("pheduyet") as approver:
        assert "Sửa bản nháp" not in approver.get("/console/procedures/MB.XD.001").text
        assert approver.get("/console/procedures/new").status_code == 403
    with system.console("duongday") as hotline:
        assert hotline.get("/console/procedures").status_code == 403
