"""The decision pages against the running system (procedures, notifier, their workers, the
console): an editor composes a decision with the procedure search and submits it after
seeing what it changes; an approver who did not write it publishes it or sends it back
with a reason; the tracker follows every channel until each shows the change. The rules
(four eyes, states, mandatory components) are the procedures API's: the pages offer only
what the role and the state allow, and a refusal is a page, never a 500.

The system is shared with other tests: every procedure code, field, decision number and
account here carries a fragment of its own."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from minhbach_shared.auth import Role
from minhbach_testing.harness import System, today_in_vietnam
from minhbach_testing.plugin import wait_until

EDITOR, OTHER_EDITOR, APPROVER = "bientap", "bientap2", "pheduyet"


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def fragment() -> str:
    return uuid.uuid4().hex[:8]


def procedure(
    procedure_like: Callable[..., dict[str, Any]], code: str, name: str, tag: str
) -> dict[str, Any]:
    """A complete procedure in a field of its own: nobody follows it (no e-mail rows)."""
    body = procedure_like(code, name)
    body["field"] = f"Lĩnh vực thử {tag}"
    return body


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


def api_decision(system: System, number: str, codes: list[str], *, subject: str = "e2e-editor") -> int:
    """A decision created and submitted through the API (as `subject`, an editor)."""
    with system.procedures() as api:
        created = api.post(
            "/v1/decisions",
            json={
                "number": number,
                "title": f"Quyết định thử ({number})",
                "issuer": "Sở Xây dựng tỉnh Thái Bình",
                "signed_on": today_in_vietnam(),
                "effective_on": today_in_vietnam(),
                "changes": [{"action": "new", "procedure_code": c} for c in codes],
            },
            headers=system.token(Role.EDITOR, subject=subject),
        )
        assert created.status_code == 201, created.text
        decision_id = int(created.json()["id"])
        submitted = api.post(
            f"/v1/decisions/{decision_id}/submit", headers=system.token(Role.EDITOR, subject=subject)
        )
        assert submitted.status_code == 200, submitted.text
    return decision_id


def api_status(system: System, decision_id: int) -> str:
    with system.procedures() as api:
        got = api.get(f"/v1/decisions/{decision_id}", headers=system.token(Role.EDITOR))
        assert got.status_code == 200, got.text
        return str(got.json()["status"])


def saved_id(answer: httpx.Response) -> int:
    assert answer.status_code == 303, answer.text[:2000]
    found = re.fullmatch(r"/console/decisions/(\d+)\?msg=decision_saved", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def section(page: str, start: str, end: str) -> str:
    assert start in page, page[:3000]
    return page.split(start, 1)[1].split(end, 1)[0]


def test_compose_with_the_search_submit_publish_and_follow_every_channel(
    system: System, procedure_like: Callable[..., dict[str, Any]]
) -> None:
    tag = fragment()
    new_code, amended_code = f"QD.NEW.{tag}", f"QD.AMD.{tag}"
    system.create_procedure(procedure(procedure_like, new_code, f"Cấp chứng chỉ thử nghiệm {tag}", tag))
    # One in force already, whose working draft the decision amends.
    system.create_procedure(procedure(procedure_like, amended_code, f"Thẩm định thiết kế thử {tag}", tag))
    first = system.decide(
        f"{tag}-0/QĐ-SXD",
        [{"action": "new", "procedure_code": amended_code}],
        effective_on=today_in_vietnam(),
    )
    assert first.status_code == 200, first.text
    with system.procedures() as api:
        edited = api.patch(
            f"/v1/procedures/{amended_code}",
            json={"processing_time": {"value": 7, "unit": "working_days"}},
            headers=system.token(Role.EDITOR),
        )
        assert edited.status_code == 200, edited.text
    number = f"{tag}/QĐ-SXD"

    with system.console(EDITOR) as editor:
        # The search (a GET) finds the draft, to put in force, and the one in force, to amend;
        # accents are not needed.
        found = editor.get("/console/decisions/new", params={"q": f"thu {tag}"})
        assert found.status_code == 200
        assert f'value="new:{new_code}"' in found.text and f'value="amend:{amended_code}"' in found.text
        form = {"csrf_token": csrf(found), **decision_fields(number), "q": f"thu {tag}"}
        # "Thêm vào quyết định": the same form again with the row, nothing saved yet.
        one = editor.post("/console/decisions/new", data={**form, "add": f"new:{new_code}"})
        assert one.status_code == 200
        assert f'name="changes-0-procedure_code" value="{new_code}"' in one.text
        assert f'value="{number}"' in one.text and "Đã có trong quyết định" in one.text
        rows = {"changes-0-action": "new", "changes-0-procedure_code": new_code}
        two = editor.post("/console/decisions/new", data={**form, **rows, "add": f"amend:{amended_code}"})
        assert f'name="changes-1-procedure_code" value="{amended_code}"' in two.text
        rows |= {"changes-1-action": "amend", "changes-1-procedure_code": amended_code}
        decision_id = saved_id(editor.post("/console/decisions/new", data={**form, **rows, "intent": "save"}))

        page = editor.get(f"/console/decisions/{decision_id}", params={"msg": "decision_saved"})
        assert "Đã lưu quyết định" in page.text and "Đang soạn" in page.text
        assert "Người tạo" in page.text and EDITOR in page.text

        # Before submitting: what each change does, the draft against the version in force.
        summary = editor.get(f"/console/decisions/{decision_id}/submit")
        assert summary.status_code == 200
        assert f"Ban hành mới: Cấp chứng chỉ thử nghiệm {tag}" in summary.text
        amended = section(summary.text, f"Sửa đổi, bổ sung: Thẩm định thiết kế thử {tag}", "</li>")
        assert "1 thành phần thay đổi" in amended and "Thời hạn giải quyết" in amended
        assert "<del>20 ngày làm việc</del>" in amended and "<ins>7 ngày làm việc</ins>" in amended
        assert "Các thủ tục đã đủ thành phần bắt buộc" in summary.text
        submitted = editor.post(
            f"/console/decisions/{decision_id}/submit", data={"csrf_token": csrf(summary)}
        )
        assert submitted.status_code == 303
        after = editor.get(submitted.headers["location"])
        assert "Đã trình quyết định" in after.text and "Chờ phê duyệt" in after.text
        assert "/publish" not in after.text and "Trả lại" not in after.text  # an editor decides nothing

    with system.console(APPROVER) as approver:
        home = approver.get("/console/")
        assert f'href="/console/decisions/{decision_id}"' in home.text  # Việc cần làm links here
        inbox = approver.get("/console/inbox")
        assert inbox.status_code == 200
        mine = section(inbox.text, f'id="d{decision_id}-title"', "</section>")
        assert "Thời hạn giải quyết" in mine and "Quyết định có hiệu lực ngay khi ban hành" in mine
        assert f'action="/console/decisions/{decision_id}/publish"' in mine
        published = approver.post(
            f"/console/decisions/{decision_id}/publish", data={"csrf_token": csrf(inbox)}
        )
        assert published.status_code == 303
        assert (
            published.headers["location"]
            == f"/console/decisions/{decision_id}/tracker?msg=decision_published"
        )

        def every_channel_done() -> str | None:
            page = approver.get(f"/console/decisions/{decision_id}/tracker")
            assert page.status_code == 200, page.text[:2000]
            return page.text if "Đã công khai xong trên mọi kênh" in page.text else None

        try:
            tracker = wait_until(every_channel_done, timeout=60, interval=0.5, message="every channel done")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{system.logs()}") from None
        assert 'data-finished="true"' in tracker
        for label in (
            "Cổng thông tin điện tử của Sở",
            "Trung tâm Phục vụ hành chính công",
            "Cổng dịch vụ công",
        ):
            assert label in tracker
        assert "Người đăng ký nhận tin" in tracker  # nobody follows these: nothing to send
        assert tracker.count("Đã công khai lúc") >= 2 + 3 + 3  # the decision's page, and each procedure's
        assert "status-bad" not in tracker

        # The published decision links to its pages on the portal, which show it.
        page = approver.get(f"/console/decisions/{decision_id}")
        assert "Đã có hiệu lực" in page.text
        portal = f"{system.notifier_url}/portal"
        assert f'href="{portal}/quyet-dinh/{decision_id}.html"' in page.text
        assert f'href="{portal}/thu-tuc/{new_code}.html"' in page.text
        assert system.shown_version(new_code) == 1 and system.shown_version(amended_code) == 2
        listed = approver.get("/console/decisions", params={"status": "in_effect"})
        assert number in listed.text and f"Ban hành: {APPROVER}" in listed.text


def test_the_tracker_shows_a_failing_channel_in_red_until_it_recovers(
    system: System, procedure_like: Callable[..., dict[str, Any]]
) -> None:
    tag = fragment()
    code = f"QD.DVC.{tag}"
    system.create_procedure(procedure(procedure_like, code, f"Thủ tục thử kênh lỗi {tag}", tag))
    decision_id = api_decision(system, f"{tag}/QĐ-SXD", [code])
    tracker_path = f"/console/decisions/{decision_id}/tracker"
    # The online public service portal (dvc) refuses everything for a while.
    assert httpx.post(f"{system.dvc_url}/fail", json={"status": 503}, timeout=5).status_code == 200
    try:
        with system.console(APPROVER) as approver:
            page = approver.get(f"/console/decisions/{decision_id}")
            published = approver.post(
                f"/console/decisions/{decision_id}/publish", data={"csrf_token": csrf(page)}
            )
            assert published.status_code == 303

            def red() -> str | None:
                text = approver.get(tracker_path).text
                return text if 'class="cell-retrying"' in text else None

            failing = wait_until(red, timeout=30, interval=0.5, message="the dvc cells to fail")
            assert 'data-finished="false"' in failing  # it keeps updating while retrying
            assert "503" in section(failing, 'class="cell-retrying"', "</td>")
            assert "chỗ gửi lỗi" in failing and "Đã công khai xong" not in failing
            assert '<script src="/console/static/tracker.js"' in failing
    finally:
        assert httpx.post(f"{system.dvc_url}/fail", json={"status": None}, timeout=5).status_code == 200
    with system.console(APPROVER) as approver:
        done = wait_until(
            lambda: "Đã công khai xong trên mọi kênh" in approver.get(tracker_path).text,
            timeout=60,
            interval=0.5,
            message="the dvc channel to recover",
        )
        assert done


def test_a_decision_effective_later_says_when_and_its_procedures_wait_for_that_day(
    system: System, procedure_like: Callable[..., dict[str, Any]]
) -> None:
    tag = fragment()
    code = f"QD.LAT.{tag}"
    system.create_procedure(procedure(procedure_like, code, f"Thủ tục hẹn ngày {tag}", tag))
    later = (date.fromisoformat(today_in_vietnam()) + timedelta(days=30)).strftime("%d/%m/%Y")
    with system.console(EDITOR) as editor:
        page = editor.get("/console/decisions/new")
        form = {
            "csrf_token": csrf(page),
            **decision_fields(f"{tag}/QĐ-SXD", signed_on=today_in_vietnam(), effective_on=later),
            "changes-0-action": "new",
            "changes-0-procedure_code": code,
        }
        decision_id = saved_id(editor.post("/console/decisions/new", data=form))
        assert f'value="{later}"' in editor.get(f"/console/decisions/{decision_id}/edit").text  # dd/mm/yyyy
        submitted = editor.post(f"/console/decisions/{decision_id}/submit", data={"csrf_token": csrf(page)})
        assert submitted.status_code == 303
    with system.console(APPROVER) as approver:
        page = approver.get(f"/console/decisions/{decision_id}")
        assert f"Quyết định có hiệu lực từ ngày {later}" in page.text
        assert (
            approver.post(
                f"/console/decisions/{decision_id}/publish", data={"csrf_token": csrf(page)}
            ).status_code
            == 303
        )

        def disclosed() -> str | None:
            text = approver.get(f"/console/decisions/{decision_id}/tracker").text
            return text if 'data-finished="true"' in text else None

        tracker = wait_until(disclosed, timeout=60, interval=0.5, message="the decision's own page disclosed")
        assert f"các thủ tục sẽ được công khai từ ngày {later}" in tracker
        assert "Chờ ngày hiệu lực" in section(tracker, f"mã {code}", "</tr>")
        assert "Đã ban hành, chờ ngày hiệu lực" in approver.get(f"/console/decisions/{decision_id}").text
    assert api_status(system, decision_id) == "scheduled"


def test_an_editor_is_offered_no_publish_and_a_forged_one_is_refused(
    system: System, procedure_like: Callable[..., dict[str, Any]]
) -> None:
    tag = fragment()
    code = f"QD.FRG.{tag}"
    system.create_procedure(procedure(procedure_like, code, f"Thủ tục thử giả mạo {tag}", tag))
    decision_id = api_decision(system, f"{tag}/QĐ-SXD", [code])
    with system.console(OTHER_EDITOR) as editor:
        page = editor.get(f"/console/decisions/{decision_id}")
        assert page.status_code == 200 and "Chờ phê duyệt" in page.text
        assert "/publish" not in page.text and "/send-back" not in page.text
        assert "Chờ phê duyệt</a>" not in page.text  # no inbox in the menu
        assert editor.get("/console/inbox").status_code == 403
        token = csrf(page)
        for path, data in (("publish", {}), ("send-back", {"reason": "Giả mạo"})):
            forged = editor.post(
                f"/console/decisions/{decision_id}/{path}", data={"csrf_token": token, **data}
            )
            assert forged.status_code == 403
            assert "Không có quyền" in forged.text and "<h1>" in forged.text
    assert api_status(system, decision_id) == "submitted"


def test_who_wrote_a_decision_cannot_approve_it_even_holding_both_roles(
    system: System, procedure_like: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = fragment()
    username, password = f"lanhdao.{tag}", f"hai-vai-tro-{tag}-2026"
    monkeypatch.setenv("MB_NEW_PASSWORD", password)
    system.manage(
        "console",
        "add-user",
        username,
        "--name",
        "Lãnh đạo kiêm biên tập",
        "--role",
        "editor",
        "--role",
        "approver",
    )
    code = f"QD.OWN.{tag}"
    system.create_procedure(procedure(procedure_like, code, f"Thủ tục tự duyệt {tag}", tag))
    decision_id = api_decision(system, f"{tag}/QĐ-SXD", [code], subject=username)
    with system.console(username, password) as both:
        inbox = both.get("/console/inbox")
        mine = section(inbox.text, f'id="d{decision_id}-title"', "</section>")
        assert "do bạn soạn (hoặc sửa lần cuối), cần lãnh đạo khác duyệt" in mine
        assert "/publish" not in mine and "/send-back" not in mine
        assert f'href="/console/decisions/{decision_id}"' not in both.get("/console/").text
        # Forged anyway: the procedures API refuses (four eyes), and the page says why.
        forged = both.post(f"/console/decisions/{decision_id}/publish", data={"csrf_token": csrf(inbox)})
        assert forged.status_code == 403
        assert "Bạn là người tạo quyết định" in forged.text and "lãnh đạo khác" in forged.text
    assert api_status(system, decision_id) == "submitted"
    with system.console(APPROVER) as approver:  # another leader may
        page = approver.get(f"/console/decisions/{decision_id}")
        assert f'action="/console/decisions/{decision_id}/publish"' in page.text


def test_send_back_needs_a_reason_and_the_editor_sees_it(
    system: System, procedure_like: Callable[..., dict[str, Any]]
) -> None:
    tag = fragment()
    code = f"QD.BCK.{tag}"
    system.create_procedure(procedure(procedure_like, code, f"Thủ tục trả lại {tag}", tag))
    number = f"{tag}/QĐ-SXD"
    decision_id = api_decision(system, number, [code])
    reason = f"Thiếu căn cứ pháp lý mới ({tag})"
    with system.console(APPROVER) as approver:
        page = approver.get(f"/console/decisions/{decision_id}")
        empty = approver.post(
            f"/console/decisions/{decision_id}/send-back", data={"csrf_token": csrf(page), "reason": "   "}
        )
        assert empty.status_code == 422
        assert 'id="reason-error"' in empty.text and "Hãy ghi lý do trả lại" in empty.text
        field = section(empty.text, '<textarea id="reason"', "</textarea>")
        assert 'aria-invalid="true"' in field and "reason-error" in field
        assert api_status(system, decision_id) == "submitted"
        back = approver.post(
            f"/console/decisions/{decision_id}/send-back", data={"csrf_token": csrf(page), "reason": reason}
        )
        assert back.status_code == 303 and back.headers["location"] == "/console/inbox?msg=decision_sent_back"
        assert "Đã trả lại quyết định" in approver.get(back.headers["location"]).text
    assert api_status(system, decision_id) == "draft"
    with system.console(EDITOR) as editor:
        page = editor.get(f"/console/decisions/{decision_id}")
        assert f"Bị trả lại bởi {APPROVER}" in page.text and reason in page.text
        assert "Xem lại và trình phê duyệt" in page.text
        assert reason in editor.get("/console/decisions", params={"status": "draft"}).text
        assert reason in editor.get(f"/console/decisions/{decision_id}/edit").text
        assert reason in editor.get("/console/").text


def test_an_incomplete_procedure_is_named_beside_its_change_when_submitting(
    system: System, procedure_like: Callable[..., dict[str, Any]]
) -> None:
    tag = fragment()
    code = f"QD.INC.{tag}"
    body = procedure(procedure_like, code, f"Thủ tục còn thiếu {tag}", tag)
    del body["fees"], body["legal_basis"]
    system.create_procedure(body)
    with system.console(EDITOR) as editor:
        page = editor.get("/console/decisions/new")
        form = {
            "csrf_token": csrf(page),
            **decision_fields(f"{tag}/QĐ-SXD"),
            "changes-0-action": "new",
            "changes-0-procedure_code": code,
        }
        decision_id = saved_id(editor.post("/console/decisions/new", data=form))
        summary = editor.get(f"/console/decisions/{decision_id}/submit")
        assert "1 thay đổi chưa thể trình" in summary.text
        refused = editor.post(f"/console/decisions/{decision_id}/submit", data={"csrf_token": csrf(summary)})
        assert refused.status_code == 422
        beside = section(refused.text, 'id="change-0-error"', "</div>")
        assert "Còn thiếu 2 thành phần bắt buộc" in beside
        assert "Phí, lệ phí" in beside and "Căn cứ pháp lý" in beside
        assert f'href="/console/procedures/{code}/edit"' in beside
        assert "Chưa trình được quyết định" in refused.text
    assert api_status(system, decision_id) == "draft"


def test_publishing_names_a_procedure_that_became_incomplete_while_it_waited(
    system: System, procedure_like: Callable[..., dict[str, Any]]
) -> None:
    tag = fragment()
    code = f"QD.WAI.{tag}"
    system.create_procedure(procedure(procedure_like, code, f"Thủ tục sửa khi chờ duyệt {tag}", tag))
    decision_id = api_decision(system, f"{tag}/QĐ-SXD", [code])
    with system.procedures() as api:  # an editor clears a component after the submit
        edited = api.patch(
            f"/v1/procedures/{code}", json={"legal_basis": None}, headers=system.token(Role.EDITOR)
        )
        assert edited.status_code == 200, edited.text
    with system.console(APPROVER) as approver:
        page = approver.get(f"/console/decisions/{decision_id}")
        assert "Căn cứ pháp lý" in section(page.text, 'id="change-0-error"', "</div>")  # seen before deciding
        refused = approver.post(f"/console/decisions/{decision_id}/publish", data={"csrf_token": csrf(page)})
        assert refused.status_code == 422
        assert "Chưa ban hành được quyết định" in refused.text
        assert "Căn cứ pháp lý" in section(refused.text, 'id="change-0-error"', "</div>")
    assert api_status(system, decision_id) == "submitted"


def test_a_draft_is_edited_then_deleted_after_a_confirmation(
    system: System, procedure_like: Callable[..., dict[str, Any]]
) -> None:
    tag = fragment()
    code = f"QD.DEL.{tag}"
    system.create_procedure(procedure(procedure_like, code, f"Thủ tục xoá {tag}", tag))
    with system.console(EDITOR) as editor:
        page = editor.get("/console/decisions/new")
        form = {
            "csrf_token": csrf(page),
            **decision_fields(f"{tag}/QĐ-SXD"),
            "changes-0-action": "new",
            "changes-0-procedure_code": code,
        }
        decision_id = saved_id(editor.post("/console/decisions/new", data=form))
        # Editing: a refused date stays as typed, beside its field; then a new title is saved.
        edit = editor.get(f"/console/decisions/{decision_id}/edit")
        assert f'value="{code}"' in edit.text
        wrong = editor.post(
            f"/console/decisions/{decision_id}/edit",
            data={**form, "effective_on": "31/02/2026", "title": "Sửa"},
        )
        assert wrong.status_code == 422 and 'id="effective_on-error"' in wrong.text
        assert 'value="31/02/2026"' in wrong.text and ">Sửa</textarea>" in wrong.text
        assert saved_id(
            editor.post(f"/console/decisions/{decision_id}/edit", data={**form, "title": "Sửa"})
        ) == (decision_id)
        confirm = editor.get(f"/console/decisions/{decision_id}/delete")
        assert confirm.status_code == 200 and "không khôi phục được" in confirm.text
        deleted = editor.post(f"/console/decisions/{decision_id}/delete", data={"csrf_token": csrf(confirm)})
        assert (
            deleted.status_code == 303
            and deleted.headers["location"] == "/console/decisions?msg=decision_deleted"
        )
        assert "Đã xoá quyết định nháp" in editor.get(deleted.headers["location"]).text
        gone = editor.get(f"/console/decisions/{decision_id}")
        assert gone.status_code == 404 and "Không tìm thấy" in gone.text
    with system.procedures() as api:
        assert api.get(f"/v1/decisions/{decision_id}", headers=system.token(Role.EDITOR)).status_code == 404


def test_pages_for_a_decision_in_a_state_that_does_not_allow_them_say_so(system: System) -> None:
    with system.procedures() as api:
        demo = api.get("/v1/decisions", params={"status": "in_effect", "size": 1}).json()["items"][0]
    with system.console(EDITOR) as editor:
        for path in ("edit", "delete", "submit"):
            page = editor.get(f"/console/decisions/{demo['id']}/{path}")
            assert page.status_code == 409 and "Đã có hiệu lực" in page.text
        token = csrf(editor.get("/console/decisions"))
        late = editor.post(f"/console/decisions/{demo['id']}/delete", data={"csrf_token": token})
        assert late.status_code == 409 and "Trạng thái đã thay đổi" in late.text
        assert editor.get("/console/decisions/999999999").status_code == 404


# -- in-process, with every owner unreachable (conftest: nothing listens on their URLs)
