"""The content desk's framework-free rules: the form read and sent, times in Vietnam,
the API's diff and refusals in Vietnamese, and what each person is offered."""

from __future__ import annotations

from datetime import datetime

from console import article_form as af

SHA_A = "a" * 64
SHA_B = "b" * 64


def test_the_form_is_read_as_typed_and_sent_as_the_api_wants() -> None:
    draft = af.read_form(
        {
            "title": "  Tin mới  ",
            "category": "propaganda",
            "summary": "Tóm tắt",
            "body": "# Mục\r\n\r\n  mã lệnh thụt lề",
            "tags": "cải cách, chuyển đổi số\n2026",
            "procedure_codes": "MB.XD.001, MB.XD.002 MB.XD.001",
            "cover-id": SHA_A,
            "cover-name": "anh.png",
            "attachment-0-id": SHA_B,
            "attachment-0-name": "ke-hoach.pdf",
            "attachment-1-id": SHA_A,
            "attachment-1-remove": "1",
        }
    )
    assert draft.title == "Tin mới" and draft.body == "# Mục\n\n  mã lệnh thụt lề"
    assert draft.cover == af.Attached(SHA_A, "anh.png")
    assert draft.attachments == [af.Attached(SHA_B, "ke-hoach.pdf")]
    assert af.check(draft) == {}
    assert af.to_api(draft) == {
        "category": "propaganda",
        "title": "Tin mới",
        "summary": "Tóm tắt",
        "body": "# Mục\n\n  mã lệnh thụt lề",
        "tags": ["cải cách", "chuyển đổi số", "2026"],
        "procedure_codes": ["MB.XD.001", "MB.XD.002"],
        "attachments": [SHA_B],
        "cover_image": SHA_A,
    }
    removed = af.read_form({"title": "x", "category": "news", "cover-id": SHA_A, "cover-remove": "1"})
    assert removed.cover is None and "cover_image" not in af.to_api(removed)
    assert af.read_form({"category": "bogus", "cover-id": "not-a-sha"}).cover is None


def test_the_checks_say_what_is_wrong_in_vietnamese() -> None:
    errors = af.check(af.ArticleDraft(title="", category="", procedure_codes="MB/1, ok.1", tags="a, A"))
    assert set(errors) == {"title", "category", "procedure_codes", "tags"}
    assert "MB/1" in errors["procedure_codes"]
    assert "lặp" in errors["tags"]
    assert "300" in af.check(af.ArticleDraft(title="x" * 301))["title"]


def test_the_api_draft_becomes_the_form() -> None:
    draft = af.from_api(
        {"title": "T", "category": "news", "body": "b", "tags": ["a", "b"], "procedure_codes": ["MB.1"],
         "cover_image": SHA_A, "attachments": [SHA_B]},
        {SHA_B: "van-ban.pdf"},
    )  # fmt: skip
    assert draft.tags == "a, b" and draft.procedure_codes == "MB.1"
    assert draft.cover is not None and draft.cover.label.startswith("Tệp aaaaaaaaaaaa")
    assert draft.attachments[0].label == "van-ban.pdf"


def test_times_are_typed_and_shown_in_vietnam() -> None:
    assert af.read_moment("01/06/2030 08:00") == datetime(2030, 6, 1, 8, 0)
    assert af.read_moment("1/6/2030 8h05") == datetime(2030, 6, 1, 8, 5)
    assert af.read_moment("01/06/2030") == datetime(2030, 6, 1)
    assert af.read_moment("31/02/2030 08:00") is None and af.read_moment("2030-06-01") is None
    assert af.vn_moment("2030-06-01T08:00:00+07:00") == "01/06/2030 08:00"
    assert af.vn_moment("2030-06-01T01:00:00+00:00") == "01/06/2030 08:00"
    assert af.vn_moment(None) == ""


def test_a_schedule_is_checked_then_sent_naive_in_vietnam_time() -> None:
    now = datetime(2030, 1, 1, 12, 0)
    ok = af.Schedule(publish_at="01/06/2030 08:00", expire_at="30/06/2030 17:00")
    assert af.check_schedule(ok, now_intent=False, now=now) == {}
    assert af.schedule_body(ok, now_intent=False) == {
        "publish_at": "2030-06-01T08:00:00",
        "expire_at": "2030-06-30T17:00:00",
    }
    assert af.schedule_body(ok, now_intent=True) == {"expire_at": "2030-06-30T17:00:00"}
    assert set(af.check_schedule(af.Schedule(), now_intent=False, now=now)) == {"publish_at"}
    assert af.check_schedule(af.Schedule(), now_intent=True, now=now) == {}
    past = af.check_schedule(af.Schedule(publish_at="01/01/2029 08:00"), now_intent=False, now=now)
    assert "đã qua" in past["publish_at"]
    backwards = af.Schedule(publish_at="01/06/2030 08:00", expire_at="01/05/2030 08:00")
    assert "sau thời điểm đăng" in af.check_schedule(backwards, now_intent=False, now=now)["expire_at"]
    assert (
        "không đúng" in af.check_schedule(af.Schedule(expire_at="mai"), now_intent=True, now=now)["expire_at"]
    )


def test_the_desk_state_splits_published_by_its_schedule() -> None:
    assert af.state_of({"state": "published", "scheduled_revision": 3}) == "scheduled"
    assert af.state_of({"state": "published", "scheduled_revision": None}) == "published"
    assert af.state_of({"state": "in_review"}) == "in_review"
    assert set(af.STATE_QUERIES) == set(af.STATE_LABELS)
    assert af.public_label(None) == "Chưa từng đăng" and af.public_label("expired").startswith("Hết hạn")


def test_the_unified_diff_becomes_labelled_lines() -> None:
    diff = (
        "--- title@1\n+++ title@2\n@@ -1 +1 @@\n-Cũ\n+Mới\n"
        "--- body@1\n+++ body@2\n@@ -1,2 +1,2 @@\n giữ\n-bỏ\n+thêm\n"
    )
    assert af.diff_lines(diff) == [
        af.DiffLine("field", "Tiêu đề"),
        af.DiffLine("hunk", "@@ -1 +1 @@"),
        af.DiffLine("removed", "Cũ"),
        af.DiffLine("added", "Mới"),
        af.DiffLine("field", "Nội dung"),
        af.DiffLine("hunk", "@@ -1,2 +1,2 @@"),
        af.DiffLine("same", "giữ"),
        af.DiffLine("removed", "bỏ"),
        af.DiffLine("added", "thêm"),
    ]
    assert af.changed_labels(["title", "cover_image"]) == ["Tiêu đề", "Ảnh đại diện"]


def test_the_api_refusals_in_vietnamese_by_field() -> None:
    assert af.say("cannot publish article 4: it is draft; allowed now: edit, restore, submit, archive") == (
        "Không đăng được bài viết: bài đang ở trạng thái “bản nháp”."
    )
    assert "không tự duyệt" in af.say(
        "you wrote the last revision (2) of article 4; another approver must approve it"
    )
    assert af.say("attachment rejected: file is empty") == "Tệp trống: hãy chọn lại tệp."
    assert "chỉ nhận ảnh PNG" in af.say("attachment rejected: file content is HTML text; only PNG, ...")
    assert "10 MB" in af.say("file: larger than the limit of 10 MB; upload a smaller file")
    assert "bị hỏng" in af.say("attachment rejected: file starts like a PNG but does not end like one: ...")
    assert af.say("something new") == "something new"
    errors = af.api_errors(
        [
            {"field": "procedure_codes[0]", "code": "MB.X.1", "message": "no published procedure MB.X.1"},
            {"field": "procedure_codes[2]", "code": "MB.X.3", "message": "no published procedure MB.X.3"},
            {"field": "cover_image", "message": "must be an image (PNG, JPEG, GIF or WebP), not a PDF"},
            {"field": "body.title", "message": "String should have at most 300 characters"},
            {"field": "expire_at", "message": "expire_at must be later than publish_at and than now"},
            {"field": "weird", "message": "Field required"},
        ]
    )
    assert errors == {
        "procedure_codes": "Không có thủ tục mã MB.X.1, MB.X.3: hãy kiểm tra lại mã.",
        "cover_file": "Ảnh đại diện phải là ảnh (PNG, JPEG, GIF hoặc WebP), không phải PDF.",
        "title": "Tối đa 300 ký tự.",
        "expire_at": "Thời điểm gỡ phải sau thời điểm đăng (và sau bây giờ).",
        "form": "Cần nhập.",
    }


def test_only_what_the_role_and_the_state_allow_is_offered() -> None:
    review = {"allowed_actions": ["publish", "send_back"], "head_author": "bientap"}
    assert af.offer(review, editor=True, approver=False, me="bientap") == af.Offer()
    approver = af.offer(review, editor=False, approver=True, me="pheduyet")
    assert approver.publish and approver.send_back and not approver.edit
    own = af.offer(review, editor=True, approver=True, me="bientap")
    assert own.own_revision and not own.publish and own.send_back
    draft = {"allowed_actions": ["edit", "restore", "submit", "archive"], "head_author": "bientap"}
    editor = af.offer(draft, editor=True, approver=False, me="bientap")
    assert editor.edit and editor.submit and editor.restore and not editor.archive
