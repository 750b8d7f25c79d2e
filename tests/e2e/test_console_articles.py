"""The content desk against the running system (content, procedures, notifier, their
workers, the console): an editor writes an article with a cover image uploaded from the
page and submits it; an approver who did not write it sees the difference from the live
revision and publishes it now, or at a time typed in Vietnam time; sends back with a
reason; unpublishes; an editor restores an old revision. The rules (states, four eyes,
the schedule) are the content API's: the pages offer only what the role and the state
allow, and a refusal is a page, never a 500.

The system is shared with other tests: every title here carries a fragment of its own."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import httpx

from minhbach_shared.auth import Role
from minhbach_testing.harness import VIETNAM, System
from minhbach_testing.plugin import png, wait_until
from tests.e2e.test_content_disclosure import apply_schedule

EDITOR, APPROVER = "bientap", "pheduyet"


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def fragment() -> str:
    return uuid.uuid4().hex[:8]


def article_id_of(answer: httpx.Response) -> int:
    assert answer.status_code == 303, answer.text[:2000]
    found = re.match(r"^/console/articles/(\d+)\?msg=", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def write(
    editor: httpx.Client, title: str, *, intent: str = "submit", files: dict | None = None, **more: str
) -> int:  # type: ignore[type-arg]
    page = editor.get("/console/articles/new")
    assert page.status_code == 200, page.text[:500]
    form = {
        "csrf_token": csrf(page),
        "title": title,
        "category": "news",
        "summary": f"Tóm tắt của {title}.",
        "body": "# Mục một\n\nNội dung **cải cách** ban đầu.",
        "tags": "cải cách",
        "intent": intent,
        **more,
    }
    return article_id_of(editor.post("/console/articles/new", data=form, files=files))


def slug_of(system: System, article_id: int) -> str:
    with system.content() as api:
        answer = api.get(f"/v1/articles/{article_id}/draft", headers=system.token(Role.EDITOR))
        return str(answer.json()["slug"])


def test_an_article_with_a_cover_goes_from_the_editor_to_the_portal(system: System) -> None:
    tag = fragment()
    title = f"Sở Xây dựng số hoá hồ sơ cấp phép {tag}"
    with system.console(EDITOR) as editor, system.console(APPROVER) as approver:
        # The preview is the content service's own rendering, sanitised.
        page = editor.get("/console/articles/new")
        preview = editor.post(
            "/console/articles/new",
            data={
                "csrf_token": csrf(page),
                "title": title,
                "category": "news",
                "body": "## Kết quả\n\n**Đậm** <script>alert(1)</script>",
                "intent": "preview",
            },
        )
        assert preview.status_code == 200
        assert "<h2>Kết quả</h2>" in preview.text and "<strong>Đậm</strong>" in preview.text
        assert "<script>" not in preview.text  # kept (escaped) in the textarea only
        # A file that is not an image is refused beside its field; nothing else is lost.
        refused = editor.post(
            "/console/articles/new",
            data={"csrf_token": csrf(page), "title": title, "category": "news", "intent": "upload"},
            files={"cover_file": ("anh.png", b"<html>not an image</html>", "image/png")},
        )
        assert refused.status_code == 422
        assert 'id="cover_file-error"' in refused.text and "không đúng loại" in refused.text
        assert f'value="{title}"' in refused.text
        # An unknown procedure code is named beside the codes' field.
        unknown = editor.post(
            "/console/articles/new",
            data={
                "csrf_token": csrf(page),
                "title": title,
                "category": "news",
                "procedure_codes": f"KHONG.CO.{tag}",
            },
        )
        assert unknown.status_code == 422 and f"KHONG.CO.{tag}" in unknown.text
        assert 'id="procedure_codes-error"' in unknown.text

        cover = png(64, 40, (20, 90, 160))
        article_id = write(editor, title, files={"cover_file": (f"bia-{tag}.png", cover, "image/png")})
        shown = editor.get(f"/console/articles/{article_id}")
        assert "Chờ duyệt" in shown.text and "Có ảnh đại diện" in shown.text
        assert "Đăng ngay" not in shown.text  # an editor does not publish

        # The approver: the whole article is new (never live), publish now.
        review = approver.get(f"/console/articles/{article_id}")
        assert review.status_code == 200 and "Bài chưa từng đăng" in review.text
        assert (
            approver.get("/console/articles", params={"state": "in_review", "q": tag}).text.count(title) == 1
        )
        published = approver.post(
            f"/console/articles/{article_id}/publish", data={"csrf_token": csrf(review), "intent": "now"}
        )
        assert published.status_code == 303
        slug = slug_of(system, article_id)
        portal = system.wait_for_page(f"tin-tuc/{slug}.html", title)
        assert "<strong>cải cách</strong>" in portal
        sha = re.search(r"/v1/attachments/([0-9a-f]{64})", portal)
        assert sha, portal[:3000]

        # A second revision: the approver sees its difference against the live one.
        edit = editor.get(f"/console/articles/{article_id}/edit")
        assert edit.status_code == 200 and f'name="cover-id" value="{sha.group(1)}"' in edit.text
        saved = editor.post(
            f"/console/articles/{article_id}/edit",
            data={
                "csrf_token": csrf(edit),
                "cover-id": sha.group(1),
                "title": title,
                "category": "news",
                "summary": f"Tóm tắt của {title}.",
                "body": "# Mục một\n\nNội dung **cải cách** đã cập nhật.",
                "intent": "submit",
            },
        )
        assert article_id_of(saved) == article_id
        review = approver.get(f"/console/articles/{article_id}")
        assert "Thay đổi so với bản đang trên cổng" in review.text and "Đã đổi: Nội dung" in review.text
        assert (
            '<del><span class="visually-hidden">Bỏ: </span>Nội dung **cải cách** ban đầu.</del>'
            in review.text
        )
        assert "đã cập nhật.</ins>" in review.text
        approver.post(
            f"/console/articles/{article_id}/publish", data={"csrf_token": csrf(review), "intent": "now"}
        )
        system.wait_for_page(f"tin-tuc/{slug}.html", "đã cập nhật")

        # Unpublish: off the portal's lists.
        page = approver.get(f"/console/articles/{article_id}")
        down = approver.post(f"/console/articles/{article_id}/unpublish", data={"csrf_token": csrf(page)})
        assert down.status_code == 303
        assert "Đã gỡ khỏi cổng" in approver.get(f"/console/articles/{article_id}").text
        wait_until(
            lambda: f"{slug}.html" not in system.portal_page("tin-tuc/index.html").text,
            timeout=15,
            message="the unpublished article to leave the list",
        )

        # Restore revision 1 as a new draft (the editor), then it can be submitted again.
        history = editor.get(f"/console/articles/{article_id}/revisions")
        assert history.status_code == 200 and "Khôi phục" in history.text
        restored = editor.post(
            f"/console/articles/{article_id}/revisions/1/restore", data={"csrf_token": csrf(history)}
        )
        assert restored.status_code == 303
        after = editor.get(f"/console/articles/{article_id}")
        assert "Bản nháp" in after.text and "ban đầu." in after.text and "Trình duyệt" in after.text
        assert "Khôi phục từ phiên bản 1" in editor.get(f"/console/articles/{article_id}/revisions").text


def test_a_scheduled_article_waits_for_its_vietnam_time(system: System) -> None:
    title = f"Kế hoạch tuyên truyền hẹn giờ {fragment()}"
    start = (datetime.now(VIETNAM) + timedelta(days=3)).replace(second=0, microsecond=0, tzinfo=None)
    typed = start.strftime("%d/%m/%Y %H:%M")
    with system.console(EDITOR) as editor, system.console(APPROVER) as approver:
        article_id = write(editor, title)
        review = approver.get(f"/console/articles/{article_id}")
        past = approver.post(
            f"/console/articles/{article_id}/publish",
            data={"csrf_token": csrf(review), "intent": "schedule", "publish_at": "01/01/2020 08:00"},
        )
        assert past.status_code == 422 and 'id="publish_at-error"' in past.text
        assert 'value="01/01/2020 08:00"' in past.text
        scheduled = approver.post(
            f"/console/articles/{article_id}/publish",
            data={"csrf_token": csrf(review), "intent": "schedule", "publish_at": typed},
        )
        assert scheduled.status_code == 303
        page = approver.get(f"/console/articles/{article_id}")
        assert "Đã hẹn giờ đăng" in page.text and f"<strong>{typed}</strong>" in page.text
        assert "Huỷ hẹn giờ đăng" in page.text
        listed = approver.get("/console/articles", params={"state": "scheduled"})
        assert title in listed.text and f"Đăng lúc {typed}" in listed.text

        slug = slug_of(system, article_id)
        # Shared system: other tests' schedules may be applied too; this article is what counts.
        apply_schedule(system, (start - timedelta(minutes=1)).replace(tzinfo=VIETNAM))
        assert system.portal_page(f"tin-tuc/{slug}.html").status_code == 404
        assert apply_schedule(system, start.replace(tzinfo=VIETNAM)) >= 1
        system.wait_for_page(f"tin-tuc/{slug}.html", title)
        assert "Đang đăng" in approver.get(f"/console/articles/{article_id}").text


def test_send_back_needs_a_reason_and_the_editor_sees_it(system: System) -> None:
    title = f"Sáng kiến cần sửa {fragment()}"
    with system.console(EDITOR) as editor, system.console(APPROVER) as approver:
        article_id = write(editor, title)
        review = approver.get(f"/console/articles/{article_id}")
        empty = approver.post(
            f"/console/articles/{article_id}/send-back", data={"csrf_token": csrf(review), "reason": " "}
        )
        assert empty.status_code == 422 and 'id="reason-error"' in empty.text
        back = approver.post(
            f"/console/articles/{article_id}/send-back",
            data={"csrf_token": csrf(review), "reason": "Cần bổ sung số liệu quý III"},
        )
        assert back.status_code == 303
        page = editor.get(f"/console/articles/{article_id}")
        assert "Cần bổ sung số liệu quý III" in page.text and "Bản nháp" in page.text
        assert "Cần bổ sung số liệu quý III" in editor.get(f"/console/articles/{article_id}/edit").text
        # Now a draft: publishing it is refused as a page (forged by hand), never a 500.
        forged = approver.post(f"/console/articles/{article_id}/publish", data={"csrf_token": csrf(review)})
        assert forged.status_code == 409 and "bản nháp" in forged.text
        # A hotline officer gets nothing here.
        with system.console("duongday") as officer:
            assert officer.get(f"/console/articles/{article_id}").status_code == 403


def test_linked_procedures_are_picked_with_the_search(system: System) -> None:
    """Typed without diacritics, the search finds the procedures in force; "Thêm" adds a
    code once, keeps everything else typed, and the saved article links it."""
    title = f"Bài liên kết thủ tục {fragment()}"
    with system.console(EDITOR) as editor:
        page = editor.get("/console/articles/new")
        typed = {"csrf_token": csrf(page), "title": title, "category": "news", "body": "Nội dung."}
        found = editor.post(
            "/console/articles/new",
            data={**typed, "procedure_q": "giay phep xay dung", "intent": "find-procedures"},
        )
        assert (
            found.status_code == 200
            and 'aria-label="Thủ tục tìm thấy cho “giay phep xay dung”"' in found.text
        )
        assert 'name="add_procedure" value="MB.XD.001"' in found.text and f'value="{title}"' in found.text
        added = editor.post(
            "/console/articles/new",
            data={
                **typed,
                "procedure_q": "giay phep xay dung",
                "procedure_codes": "",
                "add_procedure": "MB.XD.001",
            },
        )
        assert 'id="procedure_codes" name="procedure_codes" value="MB.XD.001"' in added.text
        assert 'name="add_procedure" value="MB.XD.001"' not in added.text  # "Đã thêm" instead
        again = editor.post(
            "/console/articles/new",
            data={
                **typed,
                "procedure_q": "giay phep xay dung",
                "procedure_codes": "MB.XD.001",
                "add_procedure": "MB.XD.003",
            },
        )
        assert 'value="MB.XD.001, MB.XD.003"' in again.text
        nothing = editor.post(
            "/console/articles/new",
            data={**typed, "procedure_q": "zzzz khong co", "intent": "find-procedures"},
        )
        assert "Không tìm thấy thủ tục đang có hiệu lực nào" in nothing.text
        article_id = write(editor, title, procedure_codes="MB.XD.001, MB.XD.003")
    with system.content() as api:
        draft = api.get(f"/v1/articles/{article_id}/draft", headers=system.token(Role.EDITOR)).json()
    assert draft["content"]["procedure_codes"] == ["MB.XD.001", "MB.XD.003"]
