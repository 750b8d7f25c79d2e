"""The decision pages in-process, with the procedures service down or the role wrong:
the form keeps what was typed, and only staff (approvers for the inbox) get in. The
pages against the running system: tests/e2e/test_console_decisions.py."""

from __future__ import annotations

from minhbach_testing.harness import today_in_vietnam
from services.console.tests.conftest import PASSWORD, csrf_of, hidden, sign_in


def csrf(page) -> str:  # type: ignore[no-untyped-def]
    return hidden(page.text, "csrf_token")


def decision_fields(number: str, **more: str) -> dict[str, str]:
    today = today_in_vietnam()
    return {
        "number": number,
        "title": f"Công bố thủ tục hành chính ({number})",
        "issuer": "Sở Xây dựng tỉnh Thái Bình",
        "signed_on": today,
        "effective_on": today,
        **more,
    }


def test_when_the_procedures_service_is_down_the_form_keeps_what_was_typed(client, add_account) -> None:
    add_account("an.nguyen", "editor")
    assert sign_in(client, "an.nguyen", PASSWORD).status_code == 303
    page = client.get("/console/decisions/new")
    assert page.status_code == 200
    form = {
        "csrf_token": csrf(page),
        **decision_fields("77/QĐ-SXD", title="Công bố thủ tục khi mất kết nối"),
        "changes-0-action": "replace",
        "changes-0-procedure_code": "MB.XD.001",
        "changes-0-replaced_by": "MB.XD.009",
    }
    down = client.post("/console/decisions/new", data=form)
    assert down.status_code == 503
    assert "Chưa lưu được" in down.text and "vẫn còn trên trang này" in down.text
    for typed in ('value="77/QĐ-SXD"', ">Công bố thủ tục khi mất kết nối</textarea>", 'value="MB.XD.009"'):
        assert typed in down.text
    assert '<option value="replace" selected>' in down.text
    # The search says it cannot search, and keeps the form too.
    search = client.post("/console/decisions/new", data={**form, "q": "giay phep", "intent": "search"})
    assert search.status_code == 200
    assert "Chưa tìm được" in search.text and 'value="77/QĐ-SXD"' in search.text
    # Checks that need no owner are made here, beside each field.
    missing = client.post(
        "/console/decisions/new", data={**form, "number": "", "changes-0-replaced_by": "", "intent": "save"}
    )
    assert missing.status_code == 422
    assert 'aria-describedby="number-hint number-error"' in missing.text
    assert 'id="changes-0-error"' in missing.text and "mã thủ tục thay thế" in missing.text
    # Pages that only read say the owner is unreachable, as a page.
    assert client.get("/console/decisions").status_code == 503


def test_only_staff_see_decisions_and_only_approvers_the_inbox(client, add_account) -> None:
    add_account("hoa.le", "hotline")
    assert sign_in(client, "hoa.le", PASSWORD).status_code == 303
    for path in (
        "/console/decisions",
        "/console/decisions/new",
        "/console/inbox",
        "/console/decisions/1/tracker",
    ):
        assert client.get(path).status_code == 403, path


def test_a_reason_written_while_the_procedures_service_is_down_is_kept(client, add_account) -> None:
    add_account("lanh.dao", "approver")
    assert sign_in(client, "lanh.dao", PASSWORD).status_code == 303
    answer = client.post(
        "/console/decisions/12/send-back",
        data={"csrf_token": csrf_of(client), "reason": "Cần bổ sung căn cứ pháp lý"},
    )
    assert answer.status_code == 503
    assert "Chưa trả lại được" in answer.text and ">Cần bổ sung căn cứ pháp lý</textarea>" in answer.text


def test_a_bad_page_address_is_a_page_that_says_so_not_json(client, add_account) -> None:
    add_account("an.nguyen", "editor")
    sign_in(client, "an.nguyen")
    answer = client.get("/console/decisions/abc")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Địa chỉ trang không đúng" in answer.text
