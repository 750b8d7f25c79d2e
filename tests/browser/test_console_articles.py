"""The content desk in headless Chromium: every article page an editor or an approver
reaches (the list by state, the editor with its preview and its errors, the article in
review with its difference, a scheduled one, the revisions) has no serious or critical
axe-core violation, and none scrolls sideways on a phone (390 px)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from minhbach_shared.auth import Role
from minhbach_testing.harness import VIETNAM, System
from minhbach_testing.plugin import png
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
