"""Việc cần làm against the running system: each person's home lists the content and
hotline work waiting for them (their own drafts; what waits for their approval, never
what they wrote themselves; the tickets due today or late), each linked to its page.

The system is shared with other tests: every item here carries a fragment of its own."""

from __future__ import annotations

import uuid

from minhbach_shared.auth import Role
from minhbach_testing.harness import System


def test_each_home_lists_the_articles_and_tickets_waiting_for_that_person(system: System) -> None:
    tag = uuid.uuid4().hex[:8]
    editor = system.token(Role.EDITOR, subject="bientap")
    officer = system.token(Role.HOTLINE, subject="duongday")
    with system.content() as api:
        draft = api.post(
            "/v1/articles",
            json={"category": "news", "title": f"Nháp của tôi {tag}", "summary": "x", "body": "x"},
            headers=editor,
        )
        assert draft.status_code == 201, draft.text
        submitted = system.write_article(
            {"category": "news", "title": f"Chờ duyệt {tag}", "summary": "x", "body": "x"}
        )
    with system.hotline() as api:
        logged = api.post(
            "/v1/tickets",
            json={
                "kind": "phan_anh",
                "subject": f"Phản ánh chờ duyệt {tag}",
                "body": "Nội dung.",
                "name": "Lê Văn Tâm",
                "phone": "0912000333",
            },
            headers=officer,
        )
        ticket_id = logged.json()["id"]
        for action, body in (
            ("accept", None),
            ("assign", {"unit": "Thanh tra Sở"}),
            ("answer", {"answer": f"Trả lời {tag}."}),
        ):
            assert (
                api.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=officer).status_code == 200
            )

    with system.console("bientap") as me:
        home = me.get("/console/").text
        assert f'href="/console/articles/{draft.json()["id"]}">Nháp của tôi {tag}</a>' in home
        assert f"Chờ duyệt {tag}" not in home  # an editor approves nothing
    with system.console("pheduyet") as approver:
        home = approver.get("/console/").text
        assert f'href="/console/articles/{submitted}">Chờ duyệt {tag}</a>' in home
        assert f'href="/console/hotline/{ticket_id}">' in home and f"Phản ánh chờ duyệt {tag}" in home
        assert f"Nháp của tôi {tag}" not in home  # a draft waits for its writer, not for approval
    with system.console("bientap2") as other_editor:
        assert f"Nháp của tôi {tag}" not in other_editor.get("/console/").text  # not theirs
