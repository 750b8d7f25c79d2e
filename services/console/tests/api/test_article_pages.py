"""The content desk in-process, with the content service down or the role wrong: only
editors and approvers get in (approvers alone publish, editors alone write), a forged
post is refused, and a form sent while the content service is down keeps what was typed.
The pages against the running system: tests/e2e/test_console_articles.py."""

from __future__ import annotations

from services.console.tests.conftest import PASSWORD, csrf_of, hidden, sign_in

ARTICLE = {
    "title": "Sở Xây dựng rút ngắn thời gian cấp phép",
    "category": "initiatives",
    "summary": "Tóm tắt khi mất kết nối",
    "body": "# Kế hoạch\n\nNội dung **quan trọng**.",
    "procedure_codes": "MB.XD.001, MB.XD.002",
    "tags": "cải cách, 2026",
}


def test_a_hotline_account_gets_no_article_page(client, add_account) -> None:
    add_account("hoa.le", "hotline")
    assert sign_in(client, "hoa.le", PASSWORD).status_code == 303
    for path in (
        "/console/articles",
        "/console/articles/new",
        "/console/articles/1",
        "/console/articles/1/edit",
        "/console/articles/1/revisions",
    ):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Không có quyền" in answer.text
    token = csrf_of(client)
    for path in ("/console/articles/new", "/console/articles/1/publish", "/console/articles/1/submit"):
        assert client.post(path, data={"csrf_token": token, **ARTICLE}).status_code == 403, path


def test_editors_do_not_publish_and_approvers_do_not_write(client, add_account) -> None:
    add_account("an.nguyen", "editor")
    add_account("lanh.dao", "approver")
    assert sign_in(client, "an.nguyen", PASSWORD).status_code == 303
    token = csrf_of(client)
    for action in ("publish", "send-back", "unpublish", "archive"):
        assert client.post(f"/console/articles/1/{action}", data={"csrf_token": token}).status_code == 403
    assert sign_in(client, "lanh.dao", PASSWORD).status_code == 303
    token = csrf_of(client)
    assert client.get("/console/articles/new").status_code == 403
    assert client.post("/console/articles/new", data={"csrf_token": token, **ARTICLE}).status_code == 403
    assert (
        client.post("/console/articles/preview", data={"csrf_token": token, "body": "x"}).status_code == 403
    )
    assert (
        client.post("/console/articles/1/revisions/1/restore", data={"csrf_token": token}).status_code == 403
    )


def test_forged_posts_are_refused(client, add_account) -> None:
    add_account("an.nguyen", "editor", "approver")
    assert sign_in(client, "an.nguyen", PASSWORD).status_code == 303
    for path in (
        "/console/articles/new",
        "/console/articles/3/edit",
        "/console/articles/3/submit",
        "/console/articles/3/publish",
        "/console/articles/3/send-back",
        "/console/articles/3/unpublish",
        "/console/articles/3/revisions/1/restore",
        "/console/articles/preview",
    ):
        for token in ({}, {"csrf_token": "forged"}):
            answer = client.post(path, data={**token, **ARTICLE, "reason": "x"})
            assert answer.status_code == 403, path
            assert "Biểu mẫu không hợp lệ" in answer.text


def test_when_the_content_service_is_down_the_editor_keeps_what_was_typed(client, add_account) -> None:
    add_account("an.nguyen", "editor")
    assert sign_in(client, "an.nguyen", PASSWORD).status_code == 303
    page = client.get("/console/articles/new")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    for name in (
        "title",
        "category",
        "summary",
        "body",
        "cover_file",
        "attachment_files",
        "procedure_codes",
        "tags",
    ):
        assert f'<label for="{name}">' in page.text, name
    form = {"csrf_token": hidden(page.text, "csrf_token"), **ARTICLE}
    for intent in ("save", "submit"):
        down = client.post("/console/articles/new", data={**form, "intent": intent})
        assert down.status_code == 503
        assert "Chưa lưu được" in down.text and "dịch vụ tin bài" in down.text
        assert 'value="Sở Xây dựng rút ngắn thời gian cấp phép"' in down.text
        assert ">Tóm tắt khi mất kết nối</textarea>" in down.text
        assert "# Kế hoạch\n\nNội dung **quan trọng**.</textarea>" in down.text
        assert 'value="MB.XD.001, MB.XD.002"' in down.text and 'value="cải cách, 2026"' in down.text
        assert '<option value="initiatives" selected>' in down.text
    # The live preview's fragment says so too (503), never a 500.
    live = client.post("/console/articles/preview", data={"csrf_token": form["csrf_token"], "body": "# x"})
    assert live.status_code == 503 and "Chưa xem trước được" in live.text and "<html" not in live.text
    # The preview says it cannot be made, and keeps the form.
    preview = client.post("/console/articles/new", data={**form, "intent": "preview"})
    assert preview.status_code == 200
    assert (
        "Chưa xem trước được" in preview.text
        and 'value="Sở Xây dựng rút ngắn thời gian cấp phép"' in preview.text
    )
    # A file chosen while the content service is down: said so, the form kept.
    upload = client.post(
        "/console/articles/new",
        data={**form, "intent": "upload"},
        files={"cover_file": ("anh.png", b"\x89PNG\r\n\x1a\n", "image/png")},
    )
    assert upload.status_code == 503
    assert "Chưa tải tệp lên được" in upload.text and ">Tóm tắt khi mất kết nối</textarea>" in upload.text
    # Checks that need no owner are made here, beside each field.
    bad = client.post(
        "/console/articles/new", data={**form, "title": "", "procedure_codes": "MB XD/001", "intent": "save"}
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true" aria-describedby="title-error"' in bad.text
    assert 'aria-describedby="procedure_codes-hint procedure_codes-error"' in bad.text
    assert 'id="procedure_codes-error"' in bad.text and "XD/001" in bad.text
    # Pages that only read say the owner is unreachable, as a page.
    assert client.get("/console/articles").status_code == 503
    assert client.get("/console/articles/1").status_code == 503


def test_a_reason_or_a_schedule_typed_while_the_content_service_is_down_is_kept(client, add_account) -> None:
    add_account("lanh.dao", "approver")
    assert sign_in(client, "lanh.dao", PASSWORD).status_code == 303
    token = csrf_of(client)
    answer = client.post(
        "/console/articles/12/send-back", data={"csrf_token": token, "reason": "Cần bổ sung số liệu quý III"}
    )
    assert answer.status_code == 503
    assert "Chưa trả lại được" in answer.text and ">Cần bổ sung số liệu quý III</textarea>" in answer.text
    empty = client.post("/console/articles/12/send-back", data={"csrf_token": token, "reason": "  "})
    assert empty.status_code == 503  # the article page cannot be read either: said so, not a 500
    bad_time = client.post(
        "/console/articles/12/publish",
        data={"csrf_token": token, "intent": "schedule", "publish_at": "31/02/2030 08:00"},
    )
    assert bad_time.status_code == 503 and "Tạm thời chưa làm được" in bad_time.text
