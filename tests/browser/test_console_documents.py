"""The documents desk in headless Chromium: every document page an editor or an approver
reaches (the list and its filters, a document with its relations and its correction
history, filing one with its errors beside their fields, correcting one) has no serious or
critical axe-core violation at 1366×768, and none scrolls sideways on a phone (390 px);
an editor corrects a document with the keyboard alone, from the menu to the history."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from minhbach_shared.auth import Role
from minhbach_testing.harness import System
from tests.browser import console_keyboard
from tests.browser.test_console_pages import OFFICE, PHONE, context_for, serious_violations, sign_in

__all__ = ["context_for"]  # the fixture, shared with the console's other pages

NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def _file(system: System, body: dict[str, Any]) -> int:
    with system.content() as api:
        answer = api.post("/v1/documents", json=body, headers=system.token(Role.EDITOR, subject="bientap"))
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])


def _documents(system: System) -> dict[str, Any]:
    """A plan corrected twice (so a history), and a second plan that amends it."""
    tag = uuid.uuid4().hex[:8]
    number = f"30/KH-SXD-{tag}"
    body = {
        "number": number,
        "type": "Kế hoạch",
        "issuer": "Sở Xây dựng tỉnh Thái Bình",
        "signed_on": "2026-03-02",
        "title": f"Kế hoach kiem soat thủ tục hành chính {tag}",
        "summary": "Kế hoạch thử giao diện.",
        "procedure_codes": ["MB.XD.001"],
    }
    first = _file(system, body)
    with system.content() as api:
        editor = system.token(Role.EDITOR, subject="bientap")
        for change in (
            {"title": f"Kế hoạch kiểm soát thủ tục hành chính {tag}", "reason": "Gõ thiếu dấu"},
            {"signed_on": "2026-03-03", "effective_on": "2026-03-10", "in_force": False},
        ):
            answer = api.patch(f"/v1/documents/{first}", json=change, headers=editor)
            assert answer.status_code == 200, answer.text
    second = _file(
        system,
        {
            **body,
            "number": f"31/KH-SXD-{tag}",
            "title": f"Kế hoạch sửa đổi kế hoạch kiểm soát {tag}",
            "relations": [{"kind": "amends", "number": number}],
        },
    )
    return {"first": first, "second": second, "number": number, "tag": tag}


@pytest.fixture(scope="module")
def documents(system: System) -> dict[str, Any]:
    return _documents(system)


def pages_for(username: str, docs: dict[str, Any]) -> list[str]:
    common = [
        "/console/documents",
        f"/console/documents?q={docs['tag']}&type=K%E1%BA%BF+ho%E1%BA%A1ch",
        f"/console/documents/{docs['first']}",
        f"/console/documents/{docs['second']}",
    ]
    if username == "bientap":
        return [*common, "/console/documents/new", f"/console/documents/{docs['first']}/correct"]
    return common


@pytest.mark.parametrize("username", ["bientap", "pheduyet"])
def test_every_document_page_has_no_serious_accessibility_violation(
    system: System, context_for: Any, documents: dict[str, Any], username: str
) -> None:
    page = context_for(**OFFICE).new_page()
    sign_in(page, system, username)
    problems: dict[str, list[str]] = {}
    for path in pages_for(username, documents):
        answer = page.goto(f"{system.console_url}{path}")
        assert answer is not None and answer.status == 200, path
        if found := serious_violations(page):
            problems[path] = found
    if username == "bientap":
        # Filing refused here (no number, a date that does not exist): errors beside their fields.
        page.goto(f"{system.console_url}/console/documents/new")
        page.get_by_label("Ngày ký").fill("31/02/2026")
        page.locator("button.primary", has_text="Nhập văn bản").click()
        page.wait_for_selector("#number-error")
        if found := serious_violations(page):
            problems["the refused filing"] = found
        page.get_by_role("button", name="Thêm dòng quan hệ").click()
        page.wait_for_selector("#relations-1-number")
        if found := serious_violations(page):
            problems["a relation row added"] = found
        # A correction with no reason: refused beside the reason.
        page.goto(f"{system.console_url}/console/documents/{documents['first']}/correct")
        page.locator("button.primary", has_text="Lưu đính chính").click()
        page.wait_for_selector("#reason-error")
        if found := serious_violations(page):
            problems["the refused correction"] = found
    assert problems == {}


@pytest.mark.parametrize("username", ["bientap", "pheduyet"])
def test_no_document_page_scrolls_sideways_on_a_phone(
    system: System, context_for: Any, documents: dict[str, Any], username: str
) -> None:
    page = context_for(**PHONE).new_page()
    sign_in(page, system, username)
    wide = []
    for path in pages_for(username, documents):
        page.goto(f"{system.console_url}{path}")
        if not page.evaluate(NO_SIDEWAYS):
            wide.append(path)
        if found := serious_violations(page):
            wide.append(f"{path}: {found}")
    assert wide == []


def test_an_editor_corrects_a_document_with_the_keyboard_alone(
    system: System, context_for: Any, documents: dict[str, Any]
) -> None:
    page = context_for(**OFFICE).new_page()
    keys = console_keyboard.sign_in(page, system, "bientap")
    keys.activate("Văn bản")
    keys.type_into("Số, ký hiệu hoặc từ trong trích yếu", documents["tag"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    keys.activate(documents["number"])
    keys.activate("Đính chính văn bản")
    # Sent without a reason first: refused beside it, what was typed kept.
    keys.type_into("Ngày ký", "04/03/2026")
    keys.activate("Lưu đính chính")
    assert "Hãy ghi lý do đính chính" in console_keyboard.main_text(page)
    assert page.locator("#reason").get_attribute("aria-describedby") == "reason-hint reason-error"
    assert page.locator("#signed_on").input_value() == "04/03/2026"
    keys.tab_to("Lý do đính chính")  # the error summary's link to the field comes first
    keys.type_into("Lý do đính chính", "Ngày ký theo bản gốc là 04/03/2026")
    keys.activate("Lưu đính chính")
    shown = console_keyboard.main_text(page)
    assert "Đã đính chính văn bản" in shown
    assert "Lịch sử đính chính (3 lần)" in shown
    assert "Nguyễn Thị Biên (biên tập)" in shown and "Ngày ký theo bản gốc là 04/03/2026" in shown
    newest = page.locator("ol.changes > li").first
    assert "Ngày ký" in newest.inner_text() and "03/03/2026" in newest.inner_text()
    assert "04/03/2026" in newest.inner_text()
    assert serious_violations(page) == []
