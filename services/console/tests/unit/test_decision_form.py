"""A decision's form, the API's refusals in Vietnamese, and the tracker's cells: no server."""

from __future__ import annotations

from datetime import date

import pytest

from console import decision_form as df


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("01/12/2026", date(2026, 12, 1)),
        ("1/12/2026", date(2026, 12, 1)),
        (" 01-12-2026 ", date(2026, 12, 1)),
        ("01.12.2026", date(2026, 12, 1)),
        ("31/02/2026", None),
        ("12/2026", None),
        ("mai", None),
        ("", None),
    ],
)
def test_dates_are_read_as_typed_day_first_or_from_the_api(typed: str, expected: date | None) -> None:
    assert df.read_date(typed) == expected


def test_a_date_field_shows_day_month_year_and_keeps_what_cannot_be_read() -> None:
    assert df.input_value("2026-12-01") == "01/12/2026"
    assert df.input_value("31/02/2026") == "31/02/2026"


def test_the_form_keeps_filled_rows_in_order_and_drops_blank_and_removed_ones() -> None:
    draft = df.read_form(
        {
            "number": " 12/QĐ-SXD ",
            "title": "Công bố",
            "issuer": "Sở Xây dựng",
            "signed_on": "01/12/2026",
            "effective_on": "2026-12-05",
            "changes-0-action": "amend",
            "changes-0-procedure_code": "MB.XD.001",
            "changes-1-action": "new",
            "changes-1-procedure_code": "",
            "changes-2-action": "abolish",
            "changes-2-procedure_code": "MB.XD.002",
            "changes-2-remove": "1",
            "changes-10-action": "forged",
            "changes-10-procedure_code": "MB.XD.003",
            "changes-3-action": "replace",
            "changes-3-procedure_code": "MB.XD.004",
            "changes-3-replaced_by": "MB.XD.009",
        }
    )
    assert draft.number == "12/QĐ-SXD"
    assert [(r.action, r.procedure_code) for r in draft.rows] == [
        ("amend", "MB.XD.001"),
        ("replace", "MB.XD.004"),
        ("new", "MB.XD.003"),  # an unknown action is read as the default, never sent as is
    ]
    assert df.check(draft) == {}
    assert df.to_api(draft) == {
        "number": "12/QĐ-SXD",
        "title": "Công bố",
        "issuer": "Sở Xây dựng",
        "signed_on": "2026-12-01",
        "effective_on": "2026-12-05",
        "changes": [
            {"action": "amend", "procedure_code": "MB.XD.001"},
            {"action": "replace", "procedure_code": "MB.XD.004", "replaced_by": "MB.XD.009"},
            {"action": "new", "procedure_code": "MB.XD.003"},
        ],
    }


def test_a_picked_procedure_is_added_once() -> None:
    draft = df.DecisionDraft()
    assert df.add_change(draft, "new:MB.XD.100") == "MB.XD.100"
    assert df.add_change(draft, "amend:MB.XD.100") == "MB.XD.100"
    assert df.add_change(draft, "drop:MB.XD.101") is None
    assert df.add_change(draft, "new:") is None
    assert [(r.action, r.procedure_code) for r in draft.rows] == [("new", "MB.XD.100")]


def test_what_cannot_be_sent_is_named_by_field_in_vietnamese() -> None:
    draft = df.DecisionDraft(
        number="",
        title="Công bố",
        issuer="Sở",
        signed_on="05/12/2026",
        effective_on="01/12/2026",
        rows=[
            df.ChangeRow("replace", "MB.XD.001"),
            df.ChangeRow("new", "MB XD 2"),
            df.ChangeRow("abolish", "MB.XD.003"),
            df.ChangeRow("amend", "MB.XD.003"),
        ],
    )
    errors = df.check(draft)
    assert errors.keys() == {"number", "effective_on", "changes-0", "changes-1", "changes-3"}
    assert errors["effective_on"] == "Ngày có hiệu lực không được trước ngày ký."
    assert "mã thủ tục thay thế" in errors["changes-0"]
    assert "đã có ở một dòng khác" in errors["changes-3"]
    assert df.check(df.DecisionDraft(signed_on="x"))["changes"].startswith(
        "Quyết định cần ít nhất một thay đổi"
    )


@pytest.mark.parametrize(
    ("api_field", "form_field"),
    [
        ("changes.0.replaced_by", "changes-0"),
        ("changes[2]", "changes-2"),
        ("changes", "changes"),
        ("effective_on", "effective_on"),
        ("body", "form"),
        ("query.status", "form"),
    ],
)
def test_api_fields_map_to_the_form(api_field: str, form_field: str) -> None:
    assert df.field_of(api_field) == form_field


def test_the_apis_refusals_are_said_in_vietnamese() -> None:
    assert df.say("you created decision 12/QĐ-SXD; another approver must publish it") == (
        "Bạn là người tạo quyết định 12/QĐ-SXD, nên không tự ban hành được: cần một lãnh đạo khác phê duyệt."
    )
    assert "sửa quyết định 12/QĐ-SXD lần cuối" in df.say(
        "you last edited decision 12/QĐ-SXD; another approver must send it back"
    )
    assert df.say("cannot edit decision 13/QĐ-SXD: it is submitted; only a draft can be edited") == (
        "Không sửa được quyết định 13/QĐ-SXD: quyết định đang ở trạng thái “Chờ phê duyệt”."
    )
    assert df.say("missing mandatory components: fees, legal_basis") == (
        "Còn thiếu thành phần bắt buộc: Phí, lệ phí, Căn cứ pháp lý."
    )
    assert df.say("Value error, effective_on cannot be before signed_on") == (
        "Ngày có hiệu lực không được trước ngày ký."
    )
    assert df.say("something new") == "something new"


def test_submits_refusal_is_read_per_change() -> None:
    problems = df.change_problems(
        [
            {
                "field": "changes[1]",
                "procedure_code": "MB.XD.002",
                "missing": ["fees"],
                "message": "missing mandatory components: fees",
            },
            {
                "field": "changes[0]",
                "procedure_code": "X",
                "missing": [],
                "message": "procedure X does not exist",
            },
        ]
    )
    assert problems[1].missing == ["Phí, lệ phí"]
    assert problems[0].message == "Không có thủ tục mã X." and problems[0].missing == []


def test_effect_is_now_or_from_a_day_in_vietnam() -> None:
    today = date(2026, 12, 3)
    assert df.effect_note("2026-12-03", today=today) == "Quyết định có hiệu lực ngay khi ban hành."
    assert df.effect_note("2026-11-30", today=today) == "Quyết định có hiệu lực ngay khi ban hành."
    assert df.effect_note("2026-12-10", today=today).startswith("Quyết định có hiệu lực từ ngày 10/12/2026")


def test_portal_pages_are_named_as_the_notifier_names_them() -> None:
    assert (
        df.portal_page("http://x/portal/", "procedure", "MB.XD.001")
        == "http://x/portal/thu-tuc/MB.XD.001.html"
    )
    assert df.portal_page("http://x/portal", "decision", "12") == "http://x/portal/quyet-dinh/12.html"
    assert df.page_name("Mã có dấu") == "ma-co-dau"


def delivery(channel: str, status: str, version: int = 2, **more: object) -> dict[str, object]:
    return {
        "channel": channel,
        "status": status,
        "version": version,
        "attempts": 1,
        "last_error": None,
        **more,
    }


def test_a_channel_is_done_when_the_decisions_version_or_a_newer_one_was_sent() -> None:
    rows = [
        delivery("portal", "sent", 1, sent_at="2026-12-03T10:00:00+07:00"),  # an older version
        delivery("portal", "superseded", 2),
        delivery(
            "portal", "sent", 3, sent_at="2026-12-03T10:00:05+07:00", occurred_at="2026-12-03T10:00:02+07:00"
        ),
    ]
    cell = df.cell_for("portal", rows, version=2)
    assert cell.state == "done" and cell.ok and cell.seconds == 3.0
    assert cell.text == "Đã công khai lúc 10:00:05 03/12/2026 (sau 3 giây)"
    assert df.cell_for("portal", rows[:2], version=2).state == "waiting"
    assert df.cell_for("center", rows, version=2).state == "waiting"


def test_failures_are_told_with_their_error_and_nobody_to_tell_is_done() -> None:
    retrying = df.cell_for("dvc", [delivery("dvc", "pending", attempts=3, last_error="HTTP 503")], version=2)
    assert retrying.state == "retrying" and retrying.error == "HTTP 503" and not retrying.finished
    dead = df.cell_for(
        "dvc",
        [delivery("dvc", "dead", attempts=8, last_error="HTTP 500"), delivery("dvc", "sent")],
        version=2,
    )
    assert dead.state == "dead" and dead.finished and not dead.ok and "8 lần" in dead.text
    assert df.cell_for("email", [], version=2).state == "none"
    followers = [delivery("email", "sent", sent_at="2026-12-03T10:00:00+07:00"), delivery("email", "pending")]
    assert df.cell_for("email", followers, version=2).state == "waiting"


def test_progress_counts_what_is_due_now() -> None:
    shown = df.TrackedSubject(
        "decision", "1", "QĐ", "Trang quyết định", 1, "", [df.Cell("portal", "", "done")]
    )
    later = df.TrackedSubject(
        "procedure", "A", "A", "Ban hành mới", None, "", [df.Cell("portal", "", "later")]
    )
    progress = df.progress([shown, later])
    assert (progress.done, progress.total, progress.all_done, progress.finished) == (1, 1, True, True)
