"""The staff's side of articles beyond the workflow: the desk list in every state, and the
preview of a body rendered by the very function a saved revision uses."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from minhbach_shared.times import VIETNAM
from services.content.tests.api.test_articles_api import H, create, publish


def desk(client: TestClient, who: H, **params: str) -> dict:  # type: ignore[type-arg]
    answer = client.get("/v1/desk/articles", params=params, headers=who)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


class TestDesk:
    def test_every_state_listed_and_filtered_by_state_schedule_category_and_words(
        self, client: TestClient, editor: H, approver: H
    ) -> None:
        draft = create(client, editor, title="Bản nháp tin tức bàn biên tập")
        review = create(client, editor, title="Sáng kiến đang chờ duyệt", category="initiatives")
        assert client.post(f"/v1/articles/{review['id']}/submit", headers=editor).status_code == 200
        live = create(client, editor, title="Tin đã đăng trên cổng")
        publish(client, editor, approver, live["id"])
        later = create(client, editor, title="Kế hoạch hẹn giờ đăng", category="plans_reports")
        start = (datetime.now(VIETNAM) + timedelta(days=2)).replace(microsecond=0, tzinfo=None)
        publish(client, editor, approver, later["id"], publish_at=start.isoformat())

        everything = desk(client, editor)
        assert everything["total"] == 4
        assert everything["items"][0]["id"] == later["id"]  # last changed first
        row = next(i for i in everything["items"] if i["id"] == draft["id"])
        assert row["state"] == "draft" and row["title"] == "Bản nháp tin tức bàn biên tập"
        assert row["head_author"] and row["category"] == "news" and row["public_status"] is None

        assert [i["id"] for i in desk(client, approver, state="in_review")["items"]] == [review["id"]]
        assert [i["id"] for i in desk(client, editor, state="published", scheduled="true")["items"]] == [
            later["id"]
        ]
        assert [i["id"] for i in desk(client, editor, state="published", scheduled="false")["items"]] == [
            live["id"]
        ]
        assert desk(client, editor, state="published", scheduled="true")["items"][0]["publish_at"].startswith(
            start.isoformat()
        )
        assert [i["id"] for i in desk(client, editor, category="initiatives")["items"]] == [review["id"]]
        assert [i["id"] for i in desk(client, editor, q="ke hoach hen gio")["items"]] == [later["id"]]
        paged = desk(client, editor, size="1", page="2")
        assert paged["total"] == 4 and len(paged["items"]) == 1

    def test_the_desk_is_for_staff_and_takes_only_known_values(
        self, client: TestClient, editor: H, hotline: H
    ) -> None:
        assert client.get("/v1/desk/articles").status_code == 401
        assert client.get("/v1/desk/articles", headers=hotline).status_code == 403
        bad = client.get("/v1/desk/articles", params={"state": "lost"}, headers=editor)
        assert bad.status_code == 422 and "state" in bad.text


class TestPreview:
    def test_the_preview_is_what_the_saved_revision_and_the_public_page_show(
        self, client: TestClient, editor: H, approver: H, harmless, hostile_bodies: list[str]
    ) -> None:
        body = "# Kế hoạch\n\nNội dung **quan trọng**.\n\n" + "\n\n".join(hostile_bodies)
        for who in (editor, approver):
            answer = client.post("/v1/articles/preview", json={"body": body}, headers=who)
            assert answer.status_code == 200, answer.text
        shown = answer.json()["body_html"]
        assert "<h1>Kế hoạch</h1>" in shown and "<strong>quan trọng</strong>" in shown
        harmless(shown)
        saved = create(client, editor, body=body, procedure_codes=[])
        publish(client, editor, approver, saved["id"])
        assert client.get(f"/v1/articles/{saved['id']}").json()["body_html"] == shown
        assert client.get("/v1/articles", params={"size": 100}).status_code == 200

    def test_the_preview_needs_staff_and_writes_nothing(
        self, client: TestClient, editor: H, hotline: H
    ) -> None:
        assert client.post("/v1/articles/preview", json={"body": "x"}).status_code == 401
        assert client.post("/v1/articles/preview", json={"body": "x"}, headers=hotline).status_code == 403
        assert client.post("/v1/articles/preview", json={"title": "x"}, headers=editor).status_code == 422
        assert client.post("/v1/articles/preview", json={"body": ""}, headers=editor).json() == {
            "body_html": ""
        }
        assert desk(client, editor)["total"] == 0
