"""Articles through FastAPI on a real SQLite file, real Redis and a real stand-in procedures API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from content import services, tasks
from content.settings import Settings
from content.uow import UnitOfWork
from minhbach_shared.auth import Role
from minhbach_shared.db import make_engine
from minhbach_shared.outbox import relay_waker
from minhbach_testing.plugin import RedisServer, free_port

H = dict[str, str]


def article_body(**overrides: Any) -> dict[str, Any]:
    return {
        "category": "news",
        "title": "Đẩy mạnh cải cách hành chính năm 2022",
        "summary": "Sở Xây dựng triển khai kế hoạch.",
        "body": "# Kế hoạch\n\nNội dung **quan trọng** về [thủ tục](https://dichvucong.gov.vn).",
        "tags": ["cải cách", "2022"],
        "procedure_codes": ["MB.XD.001"],
        **overrides,
    }


def create(client: TestClient, editor: H, **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/articles", json=article_body(**overrides), headers=editor)
    assert response.status_code == 201, response.text
    return response.json()


def publish(client: TestClient, editor: H, approver: H, article_id: int, **times: str) -> dict[str, Any]:
    submitted = client.post(f"/v1/articles/{article_id}/submit", headers=editor)
    assert submitted.status_code == 200, submitted.text
    published = client.post(f"/v1/articles/{article_id}/publish", json=times or None, headers=approver)
    assert published.status_code == 200, published.text
    return published.json()


def apply_schedule(settings: Settings, redis_server: RedisServer, at: datetime) -> int:
    engine = make_engine(settings.database_url)
    try:
        wake = relay_waker(redis_server.client(), "content")
        return services.apply_schedule(lambda: UnitOfWork(engine, wake), now=at)
    finally:
        engine.dispose()


class TestPlatform:
    def test_health_readiness_metrics_and_openapi(self, client: TestClient) -> None:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ok", "database": "ok", "redis": "ok"}
        assert client.get("/metrics").status_code == 200
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/v1/articles", "/v1/documents", "/v1/attachments", "/v1/sync/versions"} <= set(paths)


class TestWorkflow:
    def test_draft_review_publish_is_live_with_sanitised_html_and_an_event(
        self, client: TestClient, editor: H, approver: H, outbox: Callable[[], list[dict[str, Any]]]
    ) -> None:
        created = create(client, editor)
        assert created["state"] == "draft" and created["slug"] == "day-manh-cai-cach-hanh-chinh-nam-2022"
        assert created["head_author"] == "editor-lan" and created["public_status"] is None
        assert client.get(f"/v1/articles/{created['id']}").status_code == 404  # never published
        assert client.get("/v1/articles").json()["total"] == 0

        published = publish(client, editor, approver, created["id"])
        assert published["state"] == "published" and published["public_status"] == "published"

        live = client.get(f"/v1/articles/{created['id']}").json()
        assert live["status"] == "published" and live["version"] == 1
        assert live["body_html"].startswith("<h1>Kế hoạch</h1>")
        assert '<a href="https://dichvucong.gov.vn" rel="noopener noreferrer nofollow">' in live["body_html"]
        assert live["procedure_codes"] == ["MB.XD.001"] and live["cover_image_url"] is None
        assert set(live) == {
            "id", "version", "status", "category", "title", "slug", "summary", "body_html",
            "cover_image_url", "tags", "procedure_codes", "attachments", "publish_at",
            "expire_at", "published_at", "updated_at",
        }  # fmt: skip
        events = outbox()
        assert [(e["type"], e["subject"], e["version"]) for e in events] == [
            ("article.published", {"kind": "article", "id": str(created["id"])}, 1)
        ]
        assert events[0]["source"] == "content" and events[0]["data"]["category"] == "news"

    def test_slugs_are_unique_with_suffixes(self, client: TestClient, editor: H) -> None:
        slugs = [create(client, editor, title="Đường đến một cửa")["slug"] for _ in range(3)]
        assert slugs == ["duong-den-mot-cua", "duong-den-mot-cua-2", "duong-den-mot-cua-3"]

    def test_nobody_approves_their_own_last_edit(
        self, client: TestClient, make_token: Callable[..., H], approver: H
    ) -> None:
        both = make_token("lead-hoa", Role.EDITOR, Role.APPROVER)
        article = create(client, both)
        assert client.post(f"/v1/articles/{article['id']}/submit", headers=both).status_code == 200
        refused = client.post(f"/v1/articles/{article['id']}/publish", headers=both)
        assert refused.status_code == 403
        assert "another approver must approve it" in refused.json()["detail"]
        assert client.get(f"/v1/articles/{article['id']}").status_code == 404
        assert client.post(f"/v1/articles/{article['id']}/publish", headers=approver).status_code == 200

    def test_send_back_with_a_comment(self, client: TestClient, editor: H, approver: H) -> None:
        article = create(client, editor)
        client.post(f"/v1/articles/{article['id']}/submit", headers=editor)
        back = client.post(
            f"/v1/articles/{article['id']}/send-back", json={"comment": "Thiếu số liệu"}, headers=approver
        )
        assert back.status_code == 200
        assert back.json()["state"] == "draft" and back.json()["review_comment"] == "Thiếu số liệu"
        assert (
            client.post(
                f"/v1/articles/{article['id']}/send-back", json={"comment": ""}, headers=approver
            ).status_code
            == 422
        )

    def test_a_transition_not_allowed_now_is_409_listing_the_allowed_ones(
        self, client: TestClient, editor: H, approver: H
    ) -> None:
        article = create(client, editor)
        response = client.post(f"/v1/articles/{article['id']}/publish", headers=approver)
        assert response.status_code == 409
        body = response.json()
        assert "allowed now: edit, restore, submit, archive" in body["detail"]
        assert body["errors"][0]["allowed"] == ["edit", "restore", "submit", "archive"]
        assert client.post(f"/v1/articles/{article['id']}/unpublish", headers=approver).status_code == 409
        client.post(f"/v1/articles/{article['id']}/submit", headers=editor)
        assert (
            client.patch(f"/v1/articles/{article['id']}", json={"title": "x"}, headers=editor).status_code
            == 409
        )

    def test_published_version_stays_live_while_the_next_is_in_review(
        self, client: TestClient, editor: H, approver: H, outbox: Callable[[], list[dict[str, Any]]]
    ) -> None:
        article = create(client, editor)
        publish(client, editor, approver, article["id"])
        edited = client.patch(
            f"/v1/articles/{article['id']}", json={"title": "Tiêu đề mới", "body": "Bản mới"}, headers=editor
        ).json()
        assert edited["state"] == "draft" and edited["head"] == 2 and edited["public_status"] == "published"
        client.post(f"/v1/articles/{article['id']}/submit", headers=editor)
        live = client.get(f"/v1/articles/{article['id']}").json()
        assert live["title"] == "Đẩy mạnh cải cách hành chính năm 2022" and live["version"] == 1

        client.post(f"/v1/articles/{article['id']}/publish", headers=approver)
        live = client.get(f"/v1/articles/{article['id']}").json()
        assert live["title"] == "Tiêu đề mới" and live["version"] == 2 and live["slug"] == article["slug"]
        assert [(e["type"], e["version"]) for e in outbox()] == [
            ("article.published", 1),
            ("article.updated", 2),
        ]

    def test_unpublish_leaves_only_the_title_and_status_public(
        self, client: TestClient, editor: H, approver: H, outbox: Callable[[], list[dict[str, Any]]]
    ) -> None:
        article = create(client, editor)
        live = publish(client, editor, approver, article["id"])
        assert "Kế hoạch" in client.get(f"/v1/articles/{article['id']}").json()["body_html"]
        response = client.post(f"/v1/articles/{article['id']}/unpublish", headers=approver)
        assert response.status_code == 200 and response.json()["state"] == "unpublished"
        shown = client.get(f"/v1/articles/{article['id']}").json()
        assert shown["status"] == "unpublished" and shown["version"] == 2
        # Old links can say what was taken down, but no longer what it said.
        assert shown["title"] == live["content"]["title"]
        assert (shown["summary"], shown["body_html"], shown["attachments"]) == ("", "", [])
        assert shown["cover_image_url"] is None
        assert client.get("/v1/articles").json()["items"] == []
        assert [e["type"] for e in outbox()] == ["article.published", "article.unpublished"]
        assert client.get("/v1/sync/versions").json()["subjects"] == [
            {"kind": "article", "id": str(article["id"]), "version": 2}
        ]
        archived = client.post(f"/v1/articles/{article['id']}/archive", headers=approver)
        assert archived.status_code == 200 and archived.json()["state"] == "archived"


class TestAuth:
    def test_writes_need_a_token_and_the_right_role(
        self, client: TestClient, editor: H, hotline: H, approver: H
    ) -> None:
        assert client.post("/v1/articles", json=article_body()).status_code == 401
        bad = {"Authorization": "Bearer not-a-token"}
        assert client.post("/v1/articles", json=article_body(), headers=bad).status_code == 401
        assert client.post("/v1/articles", json=article_body(), headers=hotline).status_code == 403
        assert client.post("/v1/articles", json=article_body(), headers=approver).status_code == 403
        article = create(client, editor)
        client.post(f"/v1/articles/{article['id']}/submit", headers=editor)
        assert client.post(f"/v1/articles/{article['id']}/publish", headers=editor).status_code == 403
        assert client.get(f"/v1/articles/{article['id']}/revisions").status_code == 401
        assert client.get(f"/v1/articles/{article['id']}/revisions", headers=hotline).status_code == 403

    def test_missing_things_are_404(self, client: TestClient, editor: H, approver: H) -> None:
        assert client.get("/v1/articles/999").status_code == 404
        assert client.patch("/v1/articles/999", json={"title": "x"}, headers=editor).status_code == 404
        assert client.post("/v1/articles/999/publish", headers=approver).status_code == 404
        article = create(client, editor)
        assert client.get(f"/v1/articles/{article['id']}/revisions/9/diff", headers=editor).status_code == 404


class TestValidation:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"category": "gossip"}, "category"),
            ({"title": ""}, "title"),
            ({"tags": ["a", "a"]}, "tags"),
            ({"procedure_codes": ["bad code!"]}, "procedure_codes.0"),
            ({"cover_image": "not-a-hash"}, "cover_image"),
            ({"unexpected": 1}, "unexpected"),
        ],
    )
    def test_bad_input_is_422_naming_the_field(
        self, client: TestClient, editor: H, change: dict[str, Any], field: str
    ) -> None:
        response = client.post("/v1/articles", json=article_body(**change), headers=editor)
        assert response.status_code == 422, response.text
        assert field in {e["field"] for e in response.json()["errors"]}

    def test_bad_schedule_is_422(self, client: TestClient, editor: H, approver: H) -> None:
        article = create(client, editor)
        client.post(f"/v1/articles/{article['id']}/submit", headers=editor)
        response = client.post(
            f"/v1/articles/{article['id']}/publish",
            json={"publish_at": "2030-01-02T08:00:00", "expire_at": "2030-01-01T08:00:00"},
            headers=approver,
        )
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "expire_at"

    def test_unknown_attachment_is_422(self, client: TestClient, editor: H) -> None:
        response = client.post("/v1/articles", json=article_body(attachments=["a" * 64]), headers=editor)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "attachments[0]"


class TestProcedureCodes:
    def test_unknown_code_is_422_naming_field_and_code(self, client: TestClient, editor: H) -> None:
        response = client.post(
            "/v1/articles", json=article_body(procedure_codes=["MB.XD.001", "MB.XD.999"]), headers=editor
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {
                "field": "procedure_codes[1]",
                "code": "MB.XD.999",
                "message": "no published procedure MB.XD.999",
            }
        ]
        assert "MB.XD.999" in response.json()["detail"]

    def test_procedures_api_down_refuses_the_save_with_503(
        self, make_settings: Callable[..., Settings], redis_server: RedisServer, editor: H
    ) -> None:
        settings = make_settings(redis_server.url, procedures_url=f"http://127.0.0.1:{free_port()}")
        from content.app import create_app

        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            response = client.post("/v1/articles", json=article_body(), headers=editor)
            assert response.status_code == 503
            assert response.json()["detail"] == (
                "cannot verify procedure codes: procedures service unavailable; try again"
            )
            # Nothing was stored; an article without links needs no check and saves.
            assert (
                client.post("/v1/articles", json=article_body(procedure_codes=[]), headers=editor).json()[
                    "id"
                ]
                == 1
            )
            edit = client.patch("/v1/articles/1", json={"procedure_codes": ["MB.XD.001"]}, headers=editor)
            assert edit.status_code == 503
            assert client.get("/v1/articles/1/draft", headers=editor).json()["head"] == 1


class TestSchedule:
    def test_scheduled_article_is_not_live_before_publish_at_and_is_after(
        self,
        client: TestClient,
        settings: Settings,
        redis_server: RedisServer,
        editor: H,
        approver: H,
        outbox: Callable[[], list[dict[str, Any]]],
    ) -> None:
        article = create(client, editor)
        # Vietnam time, naive: 08:00 in Hà Nội is 01:00 UTC.
        published = publish(client, editor, approver, article["id"], publish_at="2030-06-01T08:00:00")
        assert published["public_status"] == "scheduled"
        # Shown as entered, in Vietnam time (the same instant as 01:00 UTC).
        assert published["publish_at"] == "2030-06-01T08:00:00+07:00"
        assert client.get(f"/v1/articles/{article['id']}").status_code == 404
        assert client.get("/v1/articles").json()["total"] == 0

        due = datetime(2030, 6, 1, 1, 0, tzinfo=UTC)
        assert apply_schedule(settings, redis_server, due - timedelta(seconds=1)) == 0
        assert client.get(f"/v1/articles/{article['id']}").status_code == 404
        assert outbox() == []

        assert apply_schedule(settings, redis_server, due) == 1
        live = client.get(f"/v1/articles/{article['id']}").json()
        assert live["status"] == "published" and live["version"] == 1
        assert client.get("/v1/articles").json()["total"] == 1
        assert [e["type"] for e in outbox()] == ["article.published"]
        assert apply_schedule(settings, redis_server, due) == 0  # idempotent

    def test_each_tick_sends_a_countdown_for_a_change_due_within_the_minute(
        self, client: TestClient, settings: Settings, redis_server: RedisServer, editor: H, approver: H
    ) -> None:
        # Beat ticks every 15 s; a change due sooner than a minute gets its own countdown,
        # so an article appears (or leaves) on the second, not up to a tick late.
        article = create(client, editor)
        publish(client, editor, approver, article["id"], publish_at="2030-06-01T08:00:00")
        due = datetime(2030, 6, 1, 1, 0, tzinfo=UTC)
        countdowns: list[float] = []
        engine = make_engine(settings.database_url)
        wake = relay_waker(redis_server.client(), "content")
        try:
            for ahead_s in (600, 30):
                services.apply_schedule(
                    lambda: UnitOfWork(engine, wake),
                    now=due - timedelta(seconds=ahead_s),
                    schedule_apply=countdowns.append,
                )
        finally:
            engine.dispose()
        assert countdowns == [31], "ten minutes ahead: beat's job; thirty seconds ahead: a countdown"

    def test_expired_article_leaves_every_list_via_the_beat_task(
        self,
        client: TestClient,
        settings: Settings,
        redis_server: RedisServer,
        monkeypatch: pytest.MonkeyPatch,
        editor: H,
        approver: H,
        outbox: Callable[[], list[dict[str, Any]]],
    ) -> None:
        article = create(client, editor)
        publish(client, editor, approver, article["id"], expire_at="2030-01-01T00:00:00+07:00")
        assert client.get("/v1/articles").json()["total"] == 1

        # The beat task itself, as a worker would run it, configured from the environment.
        monkeypatch.setenv("CONTENT_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("MB_REDIS_URL", redis_server.url)
        tasks._resources.cache_clear()
        try:
            assert tasks.apply_schedule("2029-12-31T16:59:59+00:00") == 0
            assert tasks.apply_schedule("2029-12-31T17:00:00+00:00") == 1
        finally:
            tasks._resources()[0].dispose()
            tasks._resources.cache_clear()
        shown = client.get(f"/v1/articles/{article['id']}").json()
        assert shown["status"] == "expired" and shown["version"] == 2
        assert client.get("/v1/articles").json()["total"] == 0
        assert [(e["type"], e["version"]) for e in outbox()] == [
            ("article.published", 1),
            ("article.unpublished", 2),
        ]


class TestRevisions:
    def test_every_save_is_a_revision_compared_with_live_and_restorable(
        self, client: TestClient, editor: H, approver: H, make_token: Callable[..., H]
    ) -> None:
        article = create(client, editor)
        publish(client, editor, approver, article["id"])
        other = make_token("editor-binh", Role.EDITOR)
        client.patch(f"/v1/articles/{article['id']}", json={"body": "Đoạn mới\n"}, headers=other)
        client.patch(f"/v1/articles/{article['id']}", json={"summary": "Tóm tắt mới"}, headers=editor)

        revisions = client.get(f"/v1/articles/{article['id']}/revisions", headers=approver).json()
        saved = [datetime.fromisoformat(r["created_at"]) for r in revisions["items"]]
        assert all(at.utcoffset() == timedelta(hours=7) for at in saved), "shown in Vietnam time"
        assert saved == sorted(saved) and datetime.now(UTC) - saved[-1] < timedelta(minutes=5)
        assert [(r["number"], r["author"], r["live"]) for r in revisions["items"]] == [
            (1, "editor-lan", True),
            (2, "editor-binh", False),
            (3, "editor-lan", False),
        ]
        assert revisions["items"][2]["content"]["body"] == "Đoạn mới\n"

        diff = client.get(f"/v1/articles/{article['id']}/revisions/3/diff", headers=editor).json()
        assert diff["against"] == 1 and diff["against_kind"] == "live"
        assert diff["changed_fields"] == ["summary", "body"]
        assert "+Đoạn mới" in diff["diff"] and "-# Kế hoạch" in diff["diff"]
        assert "+++ summary@3" in diff["diff"]

        restored = client.post(f"/v1/articles/{article['id']}/revisions/1/restore", headers=editor)
        assert restored.status_code == 200, restored.text
        assert restored.json()["head"] == 4 and restored.json()["state"] == "draft"
        assert restored.json()["content"]["body"] == article_body()["body"]
        assert (
            client.get(f"/v1/articles/{article['id']}/revisions/4/diff", headers=editor).json()["diff"] == ""
        )
        notes = [
            r["note"]
            for r in client.get(f"/v1/articles/{article['id']}/revisions", headers=editor).json()["items"]
        ]
        assert notes[-1] == "restored from revision 1"


class TestPublicList:
    def test_category_filter_and_accent_insensitive_search(
        self, client: TestClient, editor: H, approver: H
    ) -> None:
        a = create(client, editor, title="Sáng kiến một cửa điện tử", category="initiatives")
        b = create(client, editor, title="Kế hoạch tuyên truyền", category="plans_reports")
        create(client, editor, title="Bản nháp về giấy phép xây dựng")  # never published
        for article in (a, b):
            publish(client, editor, approver, article["id"])
        assert [i["id"] for i in client.get("/v1/articles?category=initiatives").json()["items"]] == [a["id"]]
        assert [
            i["id"] for i in client.get("/v1/articles", params={"q": "sang kien mot cua"}).json()["items"]
        ] == [a["id"]]
        assert client.get("/v1/articles", params={"q": "giay phep"}).json()["total"] == 0
        page = client.get("/v1/articles?size=1&page=2").json()
        assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["id"] == a["id"]
        assert client.get("/v1/articles?category=bogus").status_code == 422


class TestHostileBodiesThroughTheApi:
    def test_no_hostile_body_reaches_the_public_views(
        self,
        client: TestClient,
        editor: H,
        approver: H,
        hostile_bodies: list[str],
        harmless: Callable[[str], None],
    ) -> None:
        ids = [
            create(client, editor, title=f"Bài {i}", body=body, procedure_codes=[])["id"]
            for i, body in enumerate(hostile_bodies)
        ]
        for article_id in ids:
            publish(client, editor, approver, article_id)
            harmless(client.get(f"/v1/articles/{article_id}").json()["body_html"])
        for item in client.get("/v1/articles?size=100").json()["items"]:
            harmless(item["body_html"])
