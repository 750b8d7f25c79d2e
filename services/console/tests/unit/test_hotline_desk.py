"""The hotline desk's rules without a framework: deadline words, actions by state and role,
the marked preview, the small forms."""

from __future__ import annotations

from datetime import date, timedelta

from console import hotline_desk as hd
from minhbach_shared.auth import Role

TODAY = date(2027, 2, 8)


def test_each_deadline_is_said_in_words_against_today_in_vietnam() -> None:
    overdue = hd.deadline_mark("2027-02-05", today=TODAY)
    assert overdue and overdue.label == "Quá hạn" and "đã quá 3 ngày" in overdue.detail
    today = hd.deadline_mark(TODAY, today=TODAY)
    assert today and today.label == "Đến hạn hôm nay" and today.state == "today"
    later = hd.deadline_mark("2027-02-18", today=TODAY)
    assert later and later.label == "Còn hạn" and "18/02/2027" in later.detail
    assert hd.deadline_mark(None, today=TODAY) is None
    assert hd.deadline_mark("", today=TODAY) is None


def test_the_running_deadline_follows_the_state() -> None:
    t = {"classify_due_on": "2027-02-01", "answer_due_on": "2027-02-10", "unit_due_on": None}
    assert hd.running_due_on({**t, "status": "received"}) == "2027-02-01"
    assert hd.running_due_on({**t, "status": "accepted"}) == "2027-02-10"
    assert hd.running_due_on({**t, "status": "assigned", "unit_due_on": "2027-02-05"}) == "2027-02-05"
    assert hd.running_due_on({**t, "status": "assigned"}) == "2027-02-10"
    assert hd.running_due_on({**t, "status": "waiting_for_citizen"}) is None
    assert hd.running_due_on({**t, "status": "published"}) is None


def test_actions_need_both_the_state_and_the_role() -> None:
    received = {"allowed_actions": ["accept", "reject", "forward", "wait", "mark-duplicate"]}
    officer = [s.name for s in hd.actions_for(received, [Role.HOTLINE])]
    assert officer == ["accept", "wait", "forward", "reject", "mark-duplicate", "note"]
    assert [s.name for s in hd.actions_for(received, [Role.APPROVER])] == ["note"]
    published = {"allowed_actions": ["close"]}
    assert [s.name for s in hd.actions_for(published, [Role.APPROVER])] == ["close", "note"]
    assert hd.actions_for(received, [Role.EDITOR]) == []
    assert hd.available(hd.APPROVE, ["approve"], [Role.APPROVER])
    assert not hd.available(hd.APPROVE, ["approve"], [Role.HOTLINE])
    assert not hd.available(hd.PUBLISH, ["approve"], [Role.APPROVER])
    assert hd.available(hd.ANSWER, ["answer"], ["hotline"])


def test_the_preview_is_escaped_text_with_every_redaction_marked() -> None:
    html = str(hd.marked("Gọi [đã ẩn] <script>\n\nCCCD [đã ẩn]"))
    assert html.count('<mark class="redacted">[đã ẩn]</mark>') == 2
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert html.count("<p>") == 2
    assert hd.redactions("a [đã ẩn]", None, "[đã ẩn] [đã ẩn]") == 3


def test_the_portal_names_the_answer_page_by_its_tracking_code() -> None:
    assert (
        hd.portal_answer_page("https://sxd.example.vn/portal/", "PAKN-2026-000123")
        == "https://sxd.example.vn/portal/hoi-dap/PAKN-2026-000123.html"
    )


def test_an_actions_form_asks_for_what_the_api_requires() -> None:
    typed, body, errors = hd.read_action(hd.ACTIONS["reject"], {"reason": "  ", "note": "x"})
    assert "reason" in errors and typed["note"] == "x" and body == {"note": "x"}
    _, body, errors = hd.read_action(hd.ACTIONS["mark-duplicate"], {"duplicate_of": "pakn-2026-000001"})
    assert not errors and body == {"duplicate_of": "PAKN-2026-000001"}
    _, _, errors = hd.read_action(hd.ACTIONS["mark-duplicate"], {"duplicate_of": "123"})
    assert "PAKN-2026-7K3M-9QXD" in errors["duplicate_of"]
    later = hd.today_in_vietnam() + timedelta(days=3)
    _, body, errors = hd.read_action(
        hd.ACTIONS["assign"], {"unit": "Phòng A", "due_on": later.strftime("%d/%m/%Y")}
    )
    assert not errors and body == {"unit": "Phòng A", "due_on": later.isoformat()}
    _, _, errors = hd.read_action(hd.ACTIONS["assign"], {"unit": "Phòng A", "due_on": "31/02/2027"})
    assert "due_on" in errors
    _, _, errors = hd.read_action(hd.ACTIONS["assign"], {"unit": "Phòng A", "due_on": "01/01/2020"})
    assert "trước hôm nay" in errors["due_on"]
    _, body, _ = hd.read_action(hd.ANSWER, {"answer": "Trả lời", "redact": "a\n\na\nb"})
    assert body == {"answer": "Trả lời", "redact": ["a", "b"]}
    _, _, errors = hd.read_action(hd.ACTIONS["note"], {"note": "x" * 2001})
    assert "2000" in errors["note"]


def test_a_logged_call_needs_a_way_to_answer_the_caller() -> None:
    typed, body, errors = hd.read_intake(
        {"kind": "phan_anh", "subject": "S", "body": "B", "name": "N", "consent_to_publish": "1"}
    )
    assert set(errors) == {"phone"} and typed["channel"] == "phone"
    assert body["consent_to_publish"] is True and body["redact"] == []
    _, body, errors = hd.read_intake(
        {
            "kind": "kien_nghi",
            "channel": "letter",
            "subject": "S",
            "body": "B",
            "name": "N",
            "email": "a@b.vn",
        }
    )
    assert not errors and body["channel"] == "letter" and body["email"] == "a@b.vn" and "phone" not in body
    _, _, errors = hd.read_intake({"kind": "x", "channel": "fax"})
    assert {"kind", "channel", "subject", "body", "name", "phone"} <= set(errors)


def test_api_refusals_are_said_in_vietnamese_beside_their_fields() -> None:
    errors = hd.api_errors(
        [{"field": "redact.3", "message": "too long"}, {"field": "website", "message": "extra"}],
        ["redact", "note"],
    )
    assert errors == {"redact": "too long", "form": "extra"}
    said = hd.say("cannot approve a ticket that is approved; allowed now: publish")
    assert "phê duyệt trả lời" in said and "Đã duyệt, chờ đăng" in said
    assert "xem lại bản công khai" in hd.say("the text changed after the preview was shown; review it again")
    assert hd.say("something else") == "something else"
