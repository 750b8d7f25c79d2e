"""The content desk in headless Chromium: every article page an editor or an approver
reaches (the list by state, the editor with its preview and its errors, the article in
review with its difference, a scheduled one, the revisions) has no serious or critical
axe-core violation, and none scrolls sideways on a phone (390 px)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from minhbach_shared.auth import Role
from minhbach_testing.harness import VIETNAM, System
from minhbach_testing.plugin import png, wait_until
from tests.browser.test_console_pages import OFFICE, PHONE, context_for, serious_violations, sign_in

__all__ = ["context_for"]  # the fixture, shared with the console's other pages


def _articles(system: System) -> dict[str, int]:
    """In review with a live revision (so a difference), a draft, a scheduled one."""
    tag = uuid.uuid4().hex[:8]
    cover = system.upload_image(f"bia-{tag}.png", png(48, 32, (30, 120, 60)))
    body = {
        "category": "news",
        "summary": "Tóm tắt bài thử giao diện.",
        "body": "# Mục\n\nNội dung **ban đầu**.\n\n- một\n- hai",
        "cover_image": cover,
    }
    editor, approver = system.token(Role.EDITOR), system.token(Role.APPROVER)
    with system.content() as api:
        reviewed = system.write_article({**body, "title": f"Bài có thay đổi chờ duyệt {tag}"})
        assert api.post(f"/v1/articles/{reviewed}/publish", headers=approver).status_code == 200
        changed = {"body": "# Mục\n\nNội dung **đã sửa**.\n\n- một\n- hai\n- ba"}
        assert api.patch(f"/v1/articles/{reviewed}", json=changed, headers=editor).status_code == 200
        assert api.post(f"/v1/articles/{reviewed}/submit", headers=editor).status_code == 200
        draft = api.post(
            "/v1/articles", json={**body, "title": f"Bản nháp thử giao diện {tag}"}, headers=editor
        )
        assert draft.status_code == 201
        scheduled = system.write_article({**body, "title": f"Bài hẹn giờ thử giao diện {tag}"})
        start = (datetime.now(VIETNAM) + timedelta(days=5)).replace(microsecond=0, tzinfo=None)
        answer = api.post(
            f"/v1/articles/{scheduled}/publish", json={"publish_at": start.isoformat()}, headers=approver
        )
        assert answer.status_code == 200
    return {"reviewed": reviewed, "draft": int(draft.json()["id"]), "scheduled": scheduled}


@pytest.fixture(scope="module")
def articles(system: System) -> dict[str, int]:
    return _articles(system)


def pages_for(username: str, ids: dict[str, int]) -> list[str]:
    common = [
        "/console/articles",
        "/console/articles?state=in_review",
        "/console/articles?state=scheduled&category=news&q=thu",
        f"/console/articles/{ids['reviewed']}",
        f"/console/articles/{ids['reviewed']}/revisions",
        f"/console/articles/{ids['scheduled']}",
        f"/console/articles/{ids['draft']}",
    ]
    if username == "bientap":
        return [*common, "/console/articles/new", f"/console/articles/{ids['draft']}/edit"]
    return common


@pytest.mark.parametrize("username", ["bientap", "pheduyet"])
def test_every_article_page_has_no_serious_accessibility_violation(
    system: System, context_for: Any, articles: dict[str, int], username: str
) -> None:
    page = context_for(**OFFICE).new_page()
    sign_in(page, system, username)
    problems: dict[str, list[str]] = {}
    for path in pages_for(username, articles):
        answer = page.goto(f"{system.console_url}{path}")
        assert answer is not None and answer.status == 200, path
        if found := serious_violations(page):
            problems[path] = found
    if username == "bientap":
        page.goto(f"{system.console_url}/console/articles/{articles['draft']}/edit")
        page.get_by_role("button", name="Xem trước").click()
        page.wait_for_selector("#preview-title")
        if found := serious_violations(page):
            problems["the preview"] = found
        page.goto(f"{system.console_url}/console/articles/new")
        page.get_by_label("Thủ tục liên quan (mã)").fill("MB XD/001")
        page.locator("button.primary", has_text="Lưu bản nháp").click()
        page.wait_for_selector("#title-error")
        if found := serious_violations(page):
            problems["the refused save"] = found
    else:
        # The approver's refused schedule: errors beside the fields.
        page.goto(f"{system.console_url}/console/articles/{articles['reviewed']}")
        page.get_by_label("Hẹn giờ đăng (giờ Việt Nam)").fill("31/02/2030 08:00")
        page.get_by_role("button", name="Hẹn giờ đăng").click()
        page.wait_for_selector("#publish_at-error")
        if found := serious_violations(page):
            problems["the refused schedule"] = found
    assert problems == {}


@pytest.mark.parametrize("username", ["bientap", "pheduyet"])
def test_no_article_page_scrolls_sideways_on_a_phone(
    system: System, context_for: Any, articles: dict[str, int], username: str
) -> None:
    page = context_for(**PHONE).new_page()
    sign_in(page, system, username)
    wide = []
    for path in pages_for(username, articles):
        page.goto(f"{system.console_url}{path}")
        if not page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"):
            wide.append(path)
    if username == "bientap":
        page.goto(f"{system.console_url}/console/articles/{articles['draft']}/edit")
        page.get_by_role("button", name="Xem trước").click()
        page.wait_for_selector("#preview-title")
        if not page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"):
            wide.append("the preview")
    assert wide == []


def test_a_propaganda_panel_goes_live_at_its_time_and_leaves_at_its_expiry(
    system: System, context_for: Any
) -> None:
    """The editor writes a panel (pa-nô) with a cover image and a panel image uploaded from
    the page and submits it; the approver schedules it with an expiry, in Vietnam time; the
    content worker's schedule is run at chosen moments (time moved, not slept): not before
    its time, on the portal with both images at its time, gone at its expiry."""
    from tests.e2e.test_content_disclosure import apply_schedule

    tag = uuid.uuid4().hex[:8]
    title = f"Pa-nô hướng dẫn nộp hồ sơ trực tuyến {tag}"
    start = (datetime.now(VIETNAM) + timedelta(days=4)).replace(second=0, microsecond=0, tzinfo=None)
    end = start + timedelta(days=7)
    page = context_for(**OFFICE).new_page()
    sign_in(page, system, "bientap")
    page.goto(f"{system.console_url}/console/articles/new")
    page.get_by_label("Tiêu đề").fill(title)
    page.get_by_label("Chuyên mục").select_option(label="Pa-nô tuyên truyền")
    page.get_by_label("Tóm tắt").fill("Nộp hồ sơ cấp phép xây dựng qua Cổng dịch vụ công.")
    page.get_by_label("Nội dung").fill("## Ba bước\n\n1. Đăng nhập\n2. Nộp hồ sơ\n3. Nhận kết quả")
    page.set_input_files(
        "#cover_file",
        files=[{"name": f"bia-{tag}.png", "mimeType": "image/png", "buffer": png(64, 40, (20, 90, 160))}],
    )
    page.set_input_files(
        "#attachment_files",
        files=[{"name": f"pano-{tag}.png", "mimeType": "image/png", "buffer": png(60, 90, (200, 40, 40))}],
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Lưu và trình duyệt").click()
    assert "Chờ duyệt" in page.inner_text("main"), page.inner_text("main")[:500]
    article_url = page.url.split("?")[0]

    page = context_for(**OFFICE).new_page()
    sign_in(page, system, "pheduyet")
    page.goto(article_url)
    page.get_by_label("Hẹn giờ đăng (giờ Việt Nam)").fill(start.strftime("%d/%m/%Y %H:%M"))
    page.get_by_label("Tự gỡ lúc (không bắt buộc)").fill(end.strftime("%d/%m/%Y %H:%M"))
    with page.expect_navigation():
        page.get_by_role("button", name="Hẹn giờ đăng").click()
    scheduled = page.locator("#scheduled-at").inner_text()
    assert start.strftime("%d/%m/%Y %H:%M") in scheduled and end.strftime("%d/%m/%Y %H:%M") in scheduled

    with system.content() as api:
        article_id = int(article_url.rsplit("/", 1)[1])
        slug = api.get(f"/v1/articles/{article_id}/draft", headers=system.token(Role.EDITOR)).json()["slug"]
    path = f"tuyen-truyen/{slug}.html"
    apply_schedule(system, (start - timedelta(minutes=1)).replace(tzinfo=VIETNAM))
    assert system.portal_page(path).status_code == 404  # not before its time
    apply_schedule(system, start.replace(tzinfo=VIETNAM))
    system.wait_for_page(path, title)

    portal = context_for(**OFFICE).new_page()
    portal.goto(f"{system.pages_url}/portal/{path}")
    assert portal.locator("figure.cover img").count() == 1
    assert portal.locator("figure.panel img").count() == 1
    loaded = portal.evaluate("Array.from(document.images, i => i.complete && i.naturalWidth > 0)")
    assert loaded and all(loaded), loaded  # both images really load from the content service
    portal.goto(f"{system.pages_url}/portal/tuyen-truyen/index.html")
    assert title in portal.inner_text("main")

    apply_schedule(system, end.replace(tzinfo=VIETNAM))
    wait_until(
        lambda: title not in system.portal_page("tuyen-truyen/index.html").text,
        timeout=20,
        message="the panel leaves its list at its expiry",
    )
    portal.goto(f"{system.pages_url}/portal/{path}")
    assert portal.locator("figure.panel img").count() == 0  # its page says it is no longer shown


def test_the_editor_previews_while_typing_and_shows_each_upload(system: System, context_for: Any) -> None:
    """The live preview is the content service's rendering, sanitised, kept current while
    typing; a file uploaded from the page shows its progress and lands in the list with
    everything typed kept; a refused file says why beside its field."""
    tag = uuid.uuid4().hex[:8]
    page = context_for(**OFFICE).new_page()
    sign_in(page, system, "bientap")
    page.goto(f"{system.console_url}/console/articles/new")
    page.get_by_label("Tiêu đề").fill(f"Bài xem trước {tag}")
    page.get_by_label("Nội dung").fill(
        "## Kết quả\n\n**Đậm** và <script>window.hacked = 1</script> [liên kết](javascript:x)"
    )
    page.locator("#live-preview-body h2").wait_for()
    live = page.locator("#live-preview-body")
    assert (
        page.locator("#live-preview").is_visible()
        and page.locator("#live-preview-heading").inner_text() == f"Bài xem trước {tag}"
    )
    assert live.locator("h2").inner_text() == "Kết quả" and live.locator("strong").inner_text() == "Đậm"
    assert live.locator("script").count() == 0 and page.evaluate("window.hacked") is None
    assert live.locator('a[href^="javascript"]').count() == 0
    page.get_by_label("Nội dung").fill("## Đã sửa")
    expect(page.locator("#live-preview-body h2")).to_have_text("Đã sửa")

    page.set_input_files(
        "#attachment_files",
        files=[{"name": f"pano-{tag}.png", "mimeType": "image/png", "buffer": png(40, 60, (10, 10, 200))}],
    )
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_selector("text=Đã tải lên 100%.")
    assert f"pano-{tag}.png" in page.locator("ul.files").inner_text()
    assert page.get_by_label("Tiêu đề").input_value() == f"Bài xem trước {tag}"
    assert page.url.endswith("/console/articles/new")

    page.set_input_files(
        "#cover_file", files=[{"name": "anh.png", "mimeType": "image/png", "buffer": b"<html>"}]
    )
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_selector("#cover_file-error")
    assert "không đúng loại" in page.locator("#cover_file-error").inner_text()
    assert f"pano-{tag}.png" in page.locator("ul.files").inner_text()  # the earlier upload is kept
    assert serious_violations(page) == []
