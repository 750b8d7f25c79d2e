"""The procedures and decisions API, end to end through FastAPI on a real SQLite file and Redis."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from minhbach_shared.auth import Role
from minhbach_shared.db import make_engine
from minhbach_shared.outbox import relay_waker
from minhbach_testing.plugin import RedisServer
from minhbach_testing.tokens import bearer
from procedures import services
from procedures.app import create_app
from procedures.domain import vietnam_today
from procedures.settings import Settings
from procedures.uow import UnitOfWork


def today_vn() -> date:
    return vietnam_today(datetime.now(UTC))


def decision_body(*changes: dict[str, Any], effective_on: date | None = None) -> dict[str, Any]:
    effective = effective_on or today_vn()
    return {
        "number": "12/QĐ-SXD",
        "title": "Công bố thủ tục hành chính",
        "issuer": "Sở Xây dựng tỉnh Thái Bình",
        "signed_on": min(effective, today_vn()).isoformat(),
        "effective_on": effective.isoformat(),
        "changes": list(changes),
    }


def new(code: str) -> dict[str, Any]:
    return {"action": "new", "procedure_code": code}


def create(client: TestClient, editor: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/procedures", json=body, headers=editor)
    assert response.status_code == 201, response.text
    return response.json()


def draft_decision(client: TestClient, editor: dict[str, str], body: dict[str, Any]) -> int:
    created = client.post("/v1/decisions", json=body, headers=editor)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def publish(
    client: TestClient, editor: dict[str, str], approver: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    """The review: the editor creates and submits, another person (the approver) publishes."""
    decision_id = draft_decision(client, editor, body)
    submitted = client.post(f"/v1/decisions/{decision_id}/submit", headers=editor)
    assert submitted.status_code == 200, submitted.text
    published = client.post(f"/v1/decisions/{decision_id}/publish", headers=approver)
    assert published.status_code == 200, published.text
    return published.json()


def outbox_rows(settings: Settings) -> list[dict[str, Any]]:
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT envelope FROM outbox ORDER BY seq")).scalars().all()
    engine.dispose()
    return [json.loads(r) for r in rows]


@pytest.fixture
def in_force(client, editor, approver, sample):  # type: ignore[no-untyped-def]
    """MB.XD.001 and MB.XD.004 in force (published by one decision)."""
    for code in ("MB.XD.001", "MB.XD.004"):
        create(client, editor, sample[code])
    return publish(client, editor, approver, decision_body(new("MB.XD.001"), new("MB.XD.004")))


class TestPlatform:
    def test_health_readiness_metrics_and_openapi(self, client: TestClient) -> None:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ok", "database": "ok", "redis": "ok"}
        assert client.get("/metrics").status_code == 200
        assert "/v1/procedures" in client.get("/openapi.json").json()["paths"]

    def test_readiness_reports_redis_down(
        self, make_settings: Callable[[str], Settings], own_redis_server: RedisServer
    ) -> None:
        with TestClient(create_app(make_settings(own_redis_server.url))) as client:
            assert client.get("/readyz").status_code == 200
            own_redis_server.stop()
            response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["redis"].startswith("error")


class TestAuth:
    def test_writes_need_a_token(self, client: TestClient, sample: dict[str, Any]) -> None:
        response = client.post("/v1/procedures", json=sample["MB.XD.001"])
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert client.patch("/v1/procedures/X", json={}).status_code == 401
        assert client.post("/v1/decisions", json=decision_body(new("X"))).status_code == 401
        assert client.post("/v1/decisions/1/publish").status_code == 401
        assert client.patch("/v1/decisions/1", json={"title": "x"}).status_code == 401
        assert client.delete("/v1/decisions/1").status_code == 401
        assert client.post("/v1/decisions/1/submit").status_code == 401
        assert client.post("/v1/decisions/1/send-back", json={"reason": "x"}).status_code == 401

    def test_a_bad_token_is_401(self, client: TestClient, sample: dict[str, Any]) -> None:
        response = client.post(
            "/v1/procedures", json=sample["MB.XD.001"], headers={"Authorization": "Bearer nope"}
        )
        assert response.status_code == 401

    def test_wrong_roles_are_403(
        self, client: TestClient, editor: dict[str, str], hotline: dict[str, str], sample: dict[str, Any]
    ) -> None:
        assert client.post("/v1/procedures", json=sample["MB.XD.001"], headers=hotline).status_code == 403
        create(client, editor, sample["MB.XD.001"])
        decision_id = client.post(
            "/v1/decisions", json=decision_body(new("MB.XD.001")), headers=editor
        ).json()["id"]
        response = client.post(f"/v1/decisions/{decision_id}/publish", headers=editor)
        assert response.status_code == 403 and response.json()["detail"] == "requires role: approver"
        assert client.get("/v1/procedures/MB.XD.001/draft", headers=hotline).status_code == 403
        # The approver reviews the draft a decision will put in force.
        approver = bearer(Role.APPROVER, service="procedures")
        assert client.get("/v1/procedures/MB.XD.001/draft", headers=approver).status_code == 200
        # Editors draft and submit; approvers publish and send back.
        send_back = client.post(
            f"/v1/decisions/{decision_id}/send-back", json={"reason": "x"}, headers=editor
        )
        assert send_back.status_code == 403 and send_back.json()["detail"] == "requires role: approver"
        for response in (
            client.post(f"/v1/decisions/{decision_id}/submit", headers=hotline),
            client.patch(f"/v1/decisions/{decision_id}", json={"title": "x"}, headers=hotline),
            client.delete(f"/v1/decisions/{decision_id}", headers=hotline),
        ):
            assert response.status_code == 403 and response.json()["detail"] == "requires role: editor"


class TestDrafts:
    def test_the_sample_shape_is_accepted_and_normalised(
        self, client: TestClient, editor: dict[str, str], sample: dict[str, Any]
    ) -> None:
        draft = create(client, editor, sample["MB.XD.001"])
        assert draft["status"] == "draft" and draft["version"] == 0 and draft["missing"] == []
        # The sample's {"items": [names], "copies": 1}: one set of the dossier, and no
        # per-paper counts, which stay null rather than an invented 1 original, 0 copies.
        assert draft["dossier"]["sets"] == 1
        assert draft["dossier"]["items"][1] == {
            "name": "Bản sao giấy tờ chứng minh quyền sử dụng đất",
            "originals": None,
            "copies": None,
        }

    def test_per_paper_counts_are_kept_as_given(self, client: TestClient, editor: dict[str, str]) -> None:
        dossier = {
            "items": [{"name": "Đơn", "originals": 1}, {"name": "Bản vẽ", "originals": 0, "copies": 2}]
        }
        draft = create(client, editor, {"code": "MB.X.1", "name": "x", "dossier": dossier})
        assert draft["dossier"] == {
            "items": [
                {"name": "Đơn", "originals": 1, "copies": None},
                {"name": "Bản vẽ", "originals": 0, "copies": 2},
            ],
            "sets": None,
        }

    def test_a_fee_set_by_tariff_keeps_its_note(
        self, client: TestClient, editor: dict[str, str], sample: dict[str, Any]
    ) -> None:
        draft = create(client, editor, sample["MB.XD.006"])
        assert draft["fees"][0]["amount_vnd"] is None
        assert draft["fees"][0]["note"] == "Theo biểu phí của Bộ Tài chính"

    def test_a_draft_needs_only_code_and_name_and_text_is_nfc(
        self, client: TestClient, editor: dict[str, str]
    ) -> None:
        decomposed = "Thu\u0309 tu\u0323c"  # "Thủ tục" typed with combining marks
        draft = create(client, editor, {"code": "MB.X.1", "name": f"  {decomposed}  "})
        assert draft["name"] == "Thủ tục"
        assert "steps" in draft["missing"] and "fees" in draft["missing"]

    def test_a_draft_is_not_public(self, client: TestClient, editor: dict[str, str]) -> None:
        create(client, editor, {"code": "MB.X.1", "name": "Nháp"})
        response = client.get("/v1/procedures/MB.X.1")
        assert response.status_code == 404
        assert response.json()["detail"] == "procedure MB.X.1 not found"
        assert client.get("/v1/procedures/MB.X.1/versions").status_code == 404
        assert client.get("/v1/procedures/MB.X.1/draft", headers=editor).json()["name"] == "Nháp"

    def test_duplicate_code_is_409(self, client: TestClient, editor: dict[str, str]) -> None:
        create(client, editor, {"code": "MB.X.1", "name": "A"})
        response = client.post("/v1/procedures", json={"code": "MB.X.1", "name": "B"}, headers=editor)
        assert response.status_code == 409 and response.json()["detail"] == "procedure MB.X.1 already exists"

    def test_patch_changes_only_what_is_sent(self, client: TestClient, editor: dict[str, str]) -> None:
        create(client, editor, {"code": "MB.X.1", "name": "A", "steps": ["Bước 1"]})
        response = client.patch("/v1/procedures/MB.X.1", json={"fees": [], "forms": None}, headers=editor)
        assert response.status_code == 200
        body = response.json()
        assert body["name"] == "A" and body["steps"] == ["Bước 1"] and body["fees"] == []

    def test_patch_of_an_unknown_procedure_is_404(self, client: TestClient, editor: dict[str, str]) -> None:
        response = client.patch("/v1/procedures/NOPE", json={"name": "x"}, headers=editor)
        assert response.status_code == 404 and response.json()["detail"] == "procedure NOPE not found"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"code": "MB.X.1"}, "name"),
            ({"code": "MB.X.1", "name": "   "}, "name"),
            ({"code": "MB.X.1", "name": "x" * 501}, "name"),
            ({"code": "bad code!", "name": "x"}, "code"),
            ({"code": "MB.X.1", "name": "x", "colour": "red"}, "colour"),
            ({"code": "MB.X.1", "name": "x", "steps": "one step"}, "steps"),
            ({"code": "MB.X.1", "name": "x", "steps": ["y" * 2001]}, "steps.0"),
            ({"code": "MB.X.1", "name": "x", "steps": ["s"] * 101}, "steps"),
            ({"code": "MB.X.1", "name": "x", "fees": [{"name": "f", "amount_vnd": -1}]}, "fees.0.amount_vnd"),
            (
                {"code": "MB.X.1", "name": "x", "processing_time": {"value": 3, "unit": "weeks"}},
                "processing_time.unit",
            ),
            ({"code": "MB.X.1", "name": "x", "online_service": "có"}, "online_service"),
            ({"code": "MB.X.1", "name": "x", "dossier": {"items": [], "extra": 1}}, "dossier.extra"),
        ],
    )
    def test_bad_input_is_422_naming_the_field(
        self, client: TestClient, editor: dict[str, str], body: dict[str, Any], field: str
    ) -> None:
        response = client.post("/v1/procedures", json=body, headers=editor)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]]

    def test_malformed_json_is_422(self, client: TestClient, editor: dict[str, str]) -> None:
        response = client.post(
            "/v1/procedures", content=b'{"code": ', headers={**editor, "Content-Type": "application/json"}
        )
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["field"] == "body"
        assert error["message"] == "JSON decode error at line 1, column 10 (position 9): Expecting value"

    def test_patch_cannot_null_the_name(self, client: TestClient, editor: dict[str, str]) -> None:
        create(client, editor, {"code": "MB.X.1", "name": "A"})
        response = client.patch("/v1/procedures/MB.X.1", json={"name": None}, headers=editor)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "name"


class TestPublishing:
    def test_publish_puts_procedures_in_force_with_history(
        self, client: TestClient, in_force: dict[str, Any]
    ) -> None:
        assert in_force["status"] == "in_effect" and in_force["version"] == 1
        assert in_force["published_at"] is not None and in_force["applied_at"] is not None
        assert in_force["changes"][0]["procedure_name"].startswith("Cấp giấy phép xây dựng mới")
        procedure = client.get("/v1/procedures/MB.XD.001").json()
        assert procedure["status"] == "in_force" and procedure["version"] == 1
        assert procedure["effective_at"] == f"{today_vn().isoformat()}T00:00:00+07:00"  # Vietnam time
        assert procedure["history"] == [
            {
                "version": 1,
                "action": "new",
                "status": "in_force",
                "effective_at": procedure["effective_at"],
                "decision": {
                    "id": in_force["id"],
                    "number": "12/QĐ-SXD",
                    "title": "Công bố thủ tục hành chính",
                    "signed_on": in_force["signed_on"],
                    "effective_on": in_force["effective_on"],
                },
                "changes": None,  # only an amendment (or a replacement) says what it changed
                "replaces": None,
            }
        ]

    def test_outbox_holds_the_events_in_order(self, settings: Settings, in_force: dict[str, Any]) -> None:
        events = outbox_rows(settings)
        assert [(e["type"], e["subject"]["id"], e["version"]) for e in events] == [
            ("decision.published", str(in_force["id"]), 1),
            ("procedure.published", "MB.XD.001", 1),
            ("procedure.published", "MB.XD.004", 1),
        ]
        assert all(e["source"] == "procedures" and e["correlation_id"] for e in events)
        assert events[1]["data"]["field"] == "Hoạt động xây dựng"
        assert events[1]["data"]["decision_id"] == in_force["id"]

    def test_an_incomplete_procedure_blocks_the_whole_decision(
        self,
        client: TestClient,
        editor: dict[str, str],
        approver: dict[str, str],
        settings: Settings,
        sample: dict[str, Any],
    ) -> None:
        create(client, editor, sample["MB.XD.001"])
        incomplete = {k: v for k, v in sample["MB.XD.002"].items() if k not in ("steps", "fees")}
        create(client, editor, incomplete)
        create(client, editor, {"code": "MB.X.9", "name": "Chỉ có tên"})
        body = decision_body(new("MB.XD.001"), new("MB.XD.002"), new("MB.X.9"))
        decision_id = client.post("/v1/decisions", json=body, headers=editor).json()["id"]
        # The editor learns it at submit, in the shape publishing refuses it with.
        response = client.post(f"/v1/decisions/{decision_id}/submit", headers=editor)
        assert response.status_code == 422
        problem = response.json()
        assert problem["detail"] == "decision 12/QĐ-SXD cannot be submitted: 2 procedures are incomplete"
        assert problem["errors"][0] == {
            "field": "changes[1]",
            "procedure_code": "MB.XD.002",
            "missing": ["steps", "fees"],
            "message": "missing mandatory components: steps, fees",
        }
        assert problem["errors"][1]["procedure_code"] == "MB.X.9"
        # Nothing changed: no procedure in force, the decision still a draft, no event.
        assert client.get("/v1/procedures/MB.XD.001").status_code == 404
        assert client.get(f"/v1/decisions/{decision_id}", headers=editor).json()["status"] == "draft"
        assert outbox_rows(settings) == []

    def test_a_procedure_without_its_online_service_level_cannot_be_put_in_force(
        self, client: TestClient, editor: dict[str, str], approver: dict[str, str], sample: dict[str, Any]
    ) -> None:
        body = {k: v for k, v in sample["MB.XD.006"].items() if k != "online_service"}
        assert create(client, editor, body)["missing"] == ["online_service"]
        decision_id = client.post(
            "/v1/decisions", json=decision_body(new("MB.XD.006")), headers=editor
        ).json()["id"]
        response = client.post(f"/v1/decisions/{decision_id}/submit", headers=editor)
        assert response.status_code == 422
        assert response.json()["errors"][0]["missing"] == ["online_service"]
        assert client.get("/v1/procedures/MB.XD.006").status_code == 404

    def test_publishing_twice_is_409_and_unknown_decision_404(
        self, client: TestClient, approver: dict[str, str], in_force: dict[str, Any]
    ) -> None:
        again = client.post(f"/v1/decisions/{in_force['id']}/publish", headers=approver)
        assert again.status_code == 409
        assert client.post("/v1/decisions/999/publish", headers=approver).status_code == 404

    def test_new_for_a_procedure_in_force_is_422(
        self, client: TestClient, editor: dict[str, str], approver: dict[str, str], in_force: dict[str, Any]
    ) -> None:
        decision_id = client.post(
            "/v1/decisions", json=decision_body(new("MB.XD.001")), headers=editor
        ).json()["id"]
        response = client.post(f"/v1/decisions/{decision_id}/submit", headers=editor)
        assert response.status_code == 422
        assert (
            response.json()["errors"][0]["message"]
            == "procedure MB.XD.001 has already been in force; use amend"
        )

    def test_amend_replace_abolish_keep_every_version(
        self,
        client: TestClient,
        editor: dict[str, str],
        approver: dict[str, str],
        settings: Settings,
        sample: dict[str, Any],
        in_force: dict[str, Any],
    ) -> None:
        # An editor's change to a procedure in force waits in its working draft.
        patched = client.patch(
            "/v1/procedures/MB.XD.001",
            json={"fees": [{"name": "Lệ phí", "amount_vnd": 200000}]},
            headers=editor,
        )
        assert patched.json()["has_working_draft"] is True
        assert client.get("/v1/procedures/MB.XD.001").json()["fees"][0]["amount_vnd"] == 150000

        publish(client, editor, approver, decision_body({"action": "amend", "procedure_code": "MB.XD.001"}))
        amended = client.get("/v1/procedures/MB.XD.001").json()
        assert amended["version"] == 2 and amended["fees"][0]["amount_vnd"] == 200000

        create(client, editor, sample["MB.XD.005"])
        publish(
            client,
            editor,
            approver,
            decision_body(
                {"action": "replace", "procedure_code": "MB.XD.001", "replaced_by": "MB.XD.005"},
                new("MB.XD.005"),
                {"action": "abolish", "procedure_code": "MB.XD.004"},
            ),
        )
        replaced = client.get("/v1/procedures/MB.XD.001").json()
        assert replaced["status"] == "replaced" and replaced["replaced_by"] == "MB.XD.005"
        assert [h["action"] for h in replaced["history"]] == ["new", "amend", "replace"]
        assert client.get("/v1/procedures/MB.XD.004").json()["status"] == "abolished"
        assert client.get("/v1/procedures/MB.XD.005").json()["status"] == "in_force"

        versions = client.get("/v1/procedures/MB.XD.001/versions").json()
        assert [(v["version"], v["status"]) for v in versions["items"]] == [
            (1, "in_force"),
            (2, "in_force"),
            (3, "replaced"),
        ]
        assert versions["items"][0]["content"]["fees"][0]["amount_vnd"] == 150000

        types = [(e["type"], e["subject"]["id"], e["version"]) for e in outbox_rows(settings)][3:]
        assert types[1] == ("procedure.amended", "MB.XD.001", 2)
        assert types[3:] == [
            ("procedure.replaced", "MB.XD.001", 3),
            ("procedure.published", "MB.XD.005", 1),
            ("procedure.abolished", "MB.XD.004", 2),
        ]
        # A procedure out of force can no longer be edited.
        assert client.patch("/v1/procedures/MB.XD.004", json={"name": "x"}, headers=editor).status_code == 409

    def test_public_search_excludes_out_of_force_unless_asked(
        self, client: TestClient, editor: dict[str, str], approver: dict[str, str], in_force: dict[str, Any]
    ) -> None:
        publish(client, editor, approver, decision_body({"action": "abolish", "procedure_code": "MB.XD.004"}))
        assert [p["code"] for p in client.get("/v1/procedures").json()["items"]] == ["MB.XD.001"]
        abolished = client.get("/v1/procedures", params={"status": "abolished"}).json()
        assert [p["code"] for p in abolished["items"]] == ["MB.XD.004"]
        refused = client.get("/v1/procedures", params={"status": "draft"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "query.status"


class TestDecisions:
    def test_decision_input_is_validated(self, client: TestClient, editor: dict[str, str]) -> None:
        body = decision_body({"action": "replace", "procedure_code": "MB.X.1"})
        assert client.post("/v1/decisions", json=body, headers=editor).status_code == 422
        body = decision_body({"action": "merge", "procedure_code": "MB.X.1"})
        response = client.post("/v1/decisions", json=body, headers=editor)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "changes.0.action"
        body = decision_body()
        assert client.post("/v1/decisions", json=body, headers=editor).status_code == 422
        body = decision_body(new("MB.X.1")) | {"signed_on": "2030-01-01", "effective_on": "2029-01-01"}
        assert client.post("/v1/decisions", json=body, headers=editor).status_code == 422

    def test_drafts_and_submitted_decisions_are_hidden_from_the_public(
        self, client: TestClient, editor: dict[str, str], sample: dict[str, Any]
    ) -> None:
        create(client, editor, sample["MB.XD.001"])
        draft = draft_decision(client, editor, decision_body(new("MB.X.1")))
        submitted = draft_decision(client, editor, decision_body(new("MB.XD.001")))
        assert client.post(f"/v1/decisions/{submitted}/submit", headers=editor).status_code == 200
        for decision_id, status in ((draft, "draft"), (submitted, "submitted")):
            assert client.get(f"/v1/decisions/{decision_id}").status_code == 404
            assert client.get(f"/v1/decisions/{decision_id}", headers=editor).json()["status"] == status
        assert client.get("/v1/decisions").json()["total"] == 0
        assert client.get("/v1/sync/versions").json() == {"subjects": []}

    def test_published_decisions_newest_first(
        self, client: TestClient, editor: dict[str, str], approver: dict[str, str], in_force: dict[str, Any]
    ) -> None:
        later = publish(
            client, editor, approver, decision_body({"action": "abolish", "procedure_code": "MB.XD.004"})
        )
        page = client.get("/v1/decisions", params={"size": 1}).json()
        assert page["total"] == 2 and page["size"] == 1
        assert [d["id"] for d in page["items"]] == [later["id"]]
        assert client.get(f"/v1/decisions/{in_force['id']}").json()["version"] == 1
        assert client.get("/v1/decisions/12345").status_code == 404

    def test_sync_versions_lists_every_published_subject(
        self, client: TestClient, editor: dict[str, str], in_force: dict[str, Any]
    ) -> None:
        create(client, editor, {"code": "MB.X.1", "name": "nháp"})
        assert client.get("/v1/sync/versions").json() == {
            "subjects": [
                {"kind": "procedure", "id": "MB.XD.001", "version": 1},
                {"kind": "procedure", "id": "MB.XD.004", "version": 1},
                {"kind": "decision", "id": str(in_force["id"]), "version": 1},
            ]
        }

    def test_sync_states_answers_many_subjects_as_their_own_gets_do(
        self, client: TestClient, editor: dict[str, str], in_force: dict[str, Any]
    ) -> None:
        create(client, editor, {"code": "MB.X.1", "name": "nháp"})
        asked = [
            {"kind": "procedure", "id": "MB.XD.004"},
            {"kind": "decision", "id": str(in_force["id"])},
            {"kind": "procedure", "id": "MB.X.1"},  # a draft: not public
            {"kind": "decision", "id": "not-a-number"},
            {"kind": "decision", "id": "9" * 40},  # no decision can have it
            {"kind": "decision", "id": "987654"},
            {"kind": "procedure", "id": "MB.XD.001"},
        ]
        answer = client.post("/v1/sync/states", json={"subjects": asked})
        assert answer.status_code == 200, answer.text
        states = answer.json()["states"]
        assert [(s["kind"], s["id"]) for s in states] == [(a["kind"], a["id"]) for a in asked]
        assert states[0]["state"] == client.get("/v1/procedures/MB.XD.004").json()
        assert states[1]["state"] == client.get(f"/v1/decisions/{in_force['id']}").json()
        assert [s["state"] for s in states[2:6]] == [None, None, None, None]
        assert states[6]["state"]["code"] == "MB.XD.001"

    def test_sync_states_refuses_bad_batches_naming_the_field(self, client: TestClient) -> None:
        too_many = [{"kind": "procedure", "id": f"MB.{i}"} for i in range(201)]
        for body, field in (
            ({"subjects": too_many}, "subjects"),
            ({"subjects": []}, "subjects"),
            ({"subjects": [{"kind": "article", "id": "7"}]}, "subjects.0.kind"),
        ):
            refused = client.post("/v1/sync/states", json=body)
            assert refused.status_code == 422, body
            assert [e["field"] for e in refused.json()["errors"]] == [field]


class TestScheduledDecisions:
    def test_a_future_decision_is_scheduled_then_applied_by_the_task(
        self,
        client: TestClient,
        editor: dict[str, str],
        approver: dict[str, str],
        settings: Settings,
        sample: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        create(client, editor, sample["MB.QH.001"])
        effective_on = today_vn() + timedelta(days=10)
        scheduled = publish(
            client, editor, approver, decision_body(new("MB.QH.001"), effective_on=effective_on)
        )
        assert scheduled["status"] == "scheduled" and scheduled["applied_at"] is None
        # Moments are shown in Vietnam time: midnight of the effective date, +07:00.
        assert scheduled["effective_at"] == f"{effective_on.isoformat()}T00:00:00+07:00"
        assert scheduled["published_at"].endswith("+07:00")
        assert client.get("/v1/procedures/MB.QH.001").status_code == 404

        from procedures import tasks

        monkeypatch.setenv("PROCEDURES_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("MB_REDIS_URL", settings.redis_url)
        tasks._resources.cache_clear()
        effective_at = datetime.fromisoformat(scheduled["effective_at"])
        try:
            assert tasks.apply_due_decisions((effective_at - timedelta(seconds=1)).isoformat()) == 0
            assert client.get("/v1/procedures/MB.QH.001").status_code == 404
            assert tasks.apply_due_decisions(effective_at.isoformat()) == 1
            assert tasks.apply_due_decisions(effective_at.isoformat()) == 0  # idempotent
        finally:
            tasks._resources()[0].dispose()
            tasks._resources.cache_clear()

        assert client.get("/v1/procedures/MB.QH.001").json()["status"] == "in_force"
        applied = client.get(f"/v1/decisions/{scheduled['id']}").json()
        assert applied["status"] == "in_effect" and applied["version"] == 2
        assert [(e["type"], e["version"]) for e in outbox_rows(settings)] == [
            ("decision.published", 1),
            ("decision.applied", 2),
            ("procedure.published", 1),
        ]

    def test_an_edit_after_publication_does_not_take_effect_with_the_decision(
        self,
        client: TestClient,
        editor: dict[str, str],
        approver: dict[str, str],
        settings: Settings,
        redis_server: RedisServer,
        in_force: dict[str, Any],
    ) -> None:
        approved = [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 200000}]
        client.patch("/v1/procedures/MB.XD.001", json={"fees": approved}, headers=editor)
        amend = {"action": "amend", "procedure_code": "MB.XD.001"}
        scheduled = publish(
            client, editor, approver, decision_body(amend, effective_on=today_vn() + timedelta(days=5))
        )
        # After the approver published it, an editor changes the draft again.
        unapproved = [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 9_000_000}]
        edited = client.patch("/v1/procedures/MB.XD.001", json={"fees": unapproved}, headers=editor)
        assert edited.status_code == 200

        engine = make_engine(settings.database_url)
        effective_at = datetime.fromisoformat(scheduled["effective_at"])
        try:
            applied = services.apply_due_decisions(
                lambda: UnitOfWork(engine, relay_waker(redis_server.client(), "procedures")), now=effective_at
            )
        finally:
            engine.dispose()
        assert applied == 1

        public = client.get("/v1/procedures/MB.XD.001").json()
        assert public["version"] == 2 and public["fees"] == [approved[0] | {"note": None}]
        versions = client.get("/v1/procedures/MB.XD.001/versions").json()["items"]
        assert versions[-1]["content"]["fees"][0]["amount_vnd"] == 200000
        # The later edit is still there, as the working draft for a decision of its own.
        draft = client.get("/v1/procedures/MB.XD.001/draft", headers=editor).json()
        assert draft["has_working_draft"] is True and draft["fees"][0]["amount_vnd"] == 9_000_000


class TestWhatAnAmendmentChanged:
    def test_the_decision_and_the_procedure_say_what_changed_component_by_component(
        self,
        client: TestClient,
        editor: dict[str, str],
        approver: dict[str, str],
        settings: Settings,
        redis_server: RedisServer,
        in_force: dict[str, Any],
    ) -> None:
        dossier = client.get("/v1/procedures/MB.XD.001").json()["dossier"]
        paper = "Bản vẽ hiện trạng công trình (bản sao)"
        edited = client.patch(
            "/v1/procedures/MB.XD.001",
            json={
                "fees": [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 200000}],
                "processing_time": {"value": 15, "unit": "working_days"},
                "dossier": {**dossier, "items": [*dossier["items"], {"name": paper}]},
            },
            headers=editor,
        )
        assert edited.status_code == 200, edited.text
        amend = {"action": "amend", "procedure_code": "MB.XD.001"}
        scheduled = publish(
            client, editor, approver, decision_body(amend, effective_on=today_vn() + timedelta(days=5))
        )
        expected = [
            {
                "component": "dossier",
                "before": None,
                "after": None,
                "added": [{"name": paper}],
                "removed": [],
                "changed": [],
            },
            {
                "component": "processing_time",
                "before": {"value": 20, "unit": "working_days"},
                "after": {"value": 15, "unit": "working_days"},
                "added": [],
                "removed": [],
                "changed": [],
            },
            {
                "component": "fees",
                "before": None,
                "after": None,
                "added": [],
                "removed": [],
                "changed": [
                    {
                        "before": {"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 150000},
                        "after": {"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 200000},
                    }
                ],
            },
        ]
        # Scheduled: what it will change against the content in force now.
        assert scheduled["changes"][0]["changes"] == expected
        assert in_force["changes"][0]["changes"] is None  # a new procedure: nothing to compare

        engine = make_engine(settings.database_url)
        try:
            services.apply_due_decisions(
                lambda: UnitOfWork(engine, relay_waker(redis_server.client(), "procedures")),
                now=datetime.fromisoformat(scheduled["effective_at"]),
            )
        finally:
            engine.dispose()

        # In effect: what it changed, against the version before the one it made.
        assert client.get(f"/v1/decisions/{scheduled['id']}").json()["changes"][0]["changes"] == expected
        listed = client.get("/v1/decisions").json()["items"]
        assert [d["changes"][0]["changes"] for d in listed] == [expected, None]
        procedure = client.get("/v1/procedures/MB.XD.001").json()
        assert [h["changes"] for h in procedure["history"]] == [None, expected]
        versions = client.get("/v1/procedures/MB.XD.001/versions").json()["items"]
        assert [v["changes"] for v in versions] == [None, expected]

    def test_a_procedure_put_in_force_in_place_of_another_says_what_differs_from_it(
        self,
        client: TestClient,
        editor: dict[str, str],
        approver: dict[str, str],
        sample: dict[str, Any],
        in_force: dict[str, Any],
    ) -> None:
        successor = {
            **sample["MB.XD.001"],
            "code": "MB.XD.101",
            "processing_time": {"value": 10, "unit": "days"},
        }
        create(client, editor, successor)
        replacement = publish(
            client,
            editor,
            approver,
            decision_body(
                {"action": "replace", "procedure_code": "MB.XD.001", "replaced_by": "MB.XD.101"},
                new("MB.XD.101"),
            ),
        )
        differs = [
            {
                "component": "processing_time",
                "before": {"value": 20, "unit": "working_days"},
                "after": {"value": 10, "unit": "days"},
                "added": [],
                "removed": [],
                "changed": [],
            }
        ]
        entry = client.get("/v1/procedures/MB.XD.101").json()["history"][0]
        assert (entry["action"], entry["replaces"], entry["changes"]) == ("new", "MB.XD.001", differs)
        changes = client.get(f"/v1/decisions/{replacement['id']}").json()["changes"]
        assert [(c["procedure_code"], c["replaces"], c["changes"]) for c in changes] == [
            ("MB.XD.001", None, None),
            ("MB.XD.101", "MB.XD.001", differs),
        ]
        # The one it replaced keeps its history as it was.
        assert [h["changes"] for h in client.get("/v1/procedures/MB.XD.001").json()["history"]] == [
            None,
            None,
        ]
        # The notifier reads them all in one request: each as its own GET gives it, no
        # history or replacement mixed up with another's.
        asked = [
            ("procedure", "MB.XD.004"),
            ("procedure", "MB.XD.101"),
            ("decision", str(replacement["id"])),
            ("procedure", "MB.XD.001"),
            ("decision", str(in_force["id"])),
        ]
        body = {"subjects": [{"kind": kind, "id": id_} for kind, id_ in asked]}
        states = ok(client.post("/v1/sync/states", json=body))["states"]
        path = {"procedure": "procedures", "decision": "decisions"}
        assert [s["state"] for s in states] == [
            ok(client.get(f"/v1/{path[kind]}/{id_}")) for kind, id_ in asked
        ]


# Who did what: each write records the token's subject; only staff reads show it.

AN, BINH, CHI = "editor-an.nguyen", "editor-binh.tran", "approver-chi.le"
ACTOR_FIELDS = (
    "drafted_by",
    "edited_by",
    "edited_at",
    "written_by",
    "created_by",
    "submitted_by",
    "submitted_at",
    "published_by",
    "returned_by",
    "returned_at",
    "return_reason",
)


def token(settings: Settings, subject: str, *roles: Role) -> dict[str, str]:
    return bearer(*roles, subject=subject, service="procedures")


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def test_every_write_names_its_actor_and_only_staff_see_them(
    client: TestClient, settings: Settings, sample: dict[str, dict[str, Any]]
) -> None:
    an, binh = token(settings, AN, Role.EDITOR), token(settings, BINH, Role.EDITOR)
    chi = token(settings, CHI, Role.APPROVER)

    # An drafts the procedure, Binh edits it: the draft names both.
    created = ok(client.post("/v1/procedures", json=sample["MB.XD.001"], headers=an), 201)
    assert (created["drafted_by"], created["edited_by"]) == (AN, AN)
    ok(client.patch("/v1/procedures/MB.XD.001", json={"result": "Giấy phép xây dựng"}, headers=binh))
    draft = ok(client.get("/v1/procedures/MB.XD.001/draft", headers=an))
    assert (draft["drafted_by"], draft["edited_by"]) == (AN, BINH)
    assert draft["edited_at"].endswith("+07:00")

    # An creates and submits the decision, Chi publishes it.
    decision = ok(client.post("/v1/decisions", json=decision_body(new("MB.XD.001")), headers=an), 201)
    assert (decision["created_by"], decision["published_by"]) == (AN, None)
    ok(client.post(f"/v1/decisions/{decision['id']}/submit", headers=an))
    published = ok(client.post(f"/v1/decisions/{decision['id']}/publish", headers=chi))
    assert (published["created_by"], published["submitted_by"], published["published_by"]) == (AN, AN, CHI)
    assert ok(client.get(f"/v1/decisions/{decision['id']}", headers=binh)) == published

    # An edits the version in force; Binh's decision amends it, Chi publishes.
    ok(client.patch("/v1/procedures/MB.XD.001", json={"result": "Giấy phép (sửa đổi)"}, headers=an))
    amend = decision_body({"action": "amend", "procedure_code": "MB.XD.001"})
    amendment = ok(client.post("/v1/decisions", json=amend, headers=binh), 201)
    ok(client.post(f"/v1/decisions/{amendment['id']}/submit", headers=binh))
    ok(client.post(f"/v1/decisions/{amendment['id']}/publish", headers=chi))
    draft = ok(client.get("/v1/procedures/MB.XD.001/draft", headers=binh))
    assert (draft["drafted_by"], draft["edited_by"]) == (AN, AN)

    # The version history names who wrote each version's content.
    history = ok(client.get("/v1/procedures/MB.XD.001/versions", headers=chi))["items"]
    assert [(v["version"], v["written_by"]) for v in history] == [(1, BINH), (2, AN)]

    # Nothing public, nor what the notifier fetches, holds a name or an actor field:
    # no token, a token without a staff role, a bad token.
    hotline = token(settings, "hotline-dung", Role.HOTLINE)
    subjects = [
        {"kind": "procedure", "id": "MB.XD.001"},
        {"kind": "decision", "id": str(decision["id"])},
        {"kind": "decision", "id": str(amendment["id"])},
    ]
    for headers in ({}, hotline, {"Authorization": "Bearer not-a-token"}):
        bodies = [
            client.get("/v1/procedures/MB.XD.001", headers=headers),
            client.get("/v1/procedures/MB.XD.001/versions", headers=headers),
            client.get("/v1/procedures?q=MB.XD.001", headers=headers),
            client.get(f"/v1/decisions/{decision['id']}", headers=headers),
            client.get(f"/v1/decisions/{amendment['id']}", headers=headers),
            client.get("/v1/decisions", headers=headers),
            client.get("/v1/sync/versions", headers=headers),
            client.post("/v1/sync/states", json={"subjects": subjects}, headers=headers),
        ]
        for response in bodies:
            assert response.status_code == 200, response.text
            for secret in (AN, BINH, CHI, *ACTOR_FIELDS):
                assert secret not in response.text, (response.request.url, secret)
    states = ok(client.post("/v1/sync/states", json={"subjects": subjects}))["states"]
    assert [s["state"] is not None for s in states] == [True, True, True]


def test_a_draft_decision_stays_hidden_from_the_public_and_names_its_creator_to_staff(
    client: TestClient, settings: Settings, sample: dict[str, dict[str, Any]]
) -> None:
    an = token(settings, AN, Role.EDITOR)
    ok(client.post("/v1/procedures", json=sample["MB.XD.001"], headers=an), 201)
    decision = ok(client.post("/v1/decisions", json=decision_body(new("MB.XD.001")), headers=an), 201)
    assert client.get(f"/v1/decisions/{decision['id']}").status_code == 404
    staff = ok(client.get(f"/v1/decisions/{decision['id']}", headers=token(settings, CHI, Role.APPROVER)))
    assert (staff["status"], staff["created_by"], staff["published_by"]) == ("draft", AN, None)


# The review: editors draft, edit, delete and submit; an approver who did not draft a
# decision publishes it or sends it back with a reason.


class TestReview:
    def test_submitted_then_published_by_someone_else(
        self, client: TestClient, settings: Settings, sample: dict[str, Any]
    ) -> None:
        an, chi = token(settings, AN, Role.EDITOR), token(settings, CHI, Role.APPROVER)
        create(client, an, sample["MB.XD.001"])
        decision_id = draft_decision(client, an, decision_body(new("MB.XD.001")))

        submitted = ok(client.post(f"/v1/decisions/{decision_id}/submit", headers=an))
        assert (submitted["status"], submitted["version"], submitted["submitted_by"]) == ("submitted", 0, AN)
        assert submitted["submitted_at"].endswith("+07:00")
        assert outbox_rows(settings) == []  # nothing public happened
        # Submitted twice, or edited while in review: the state says no.
        again = client.post(f"/v1/decisions/{decision_id}/submit", headers=an)
        assert again.status_code == 409 and "it is submitted" in again.json()["detail"]

        published = ok(client.post(f"/v1/decisions/{decision_id}/publish", headers=chi))
        assert (published["status"], published["published_by"]) == ("in_effect", CHI)
        assert client.get("/v1/procedures/MB.XD.001").json()["status"] == "in_force"
        assert [e["type"] for e in outbox_rows(settings)] == ["decision.published", "procedure.published"]

    def test_a_draft_cannot_be_published_and_the_answer_names_its_state(
        self, client: TestClient, editor: dict[str, str], approver: dict[str, str], sample: dict[str, Any]
    ) -> None:
        create(client, editor, sample["MB.XD.001"])
        decision_id = draft_decision(client, editor, decision_body(new("MB.XD.001")))
        response = client.post(f"/v1/decisions/{decision_id}/publish", headers=approver)
        assert response.status_code == 409
        assert response.json()["detail"] == (
            "cannot publish decision 12/QĐ-SXD: it is a draft; an editor submits it first"
        )
        assert client.get("/v1/procedures/MB.XD.001").status_code == 404

    def test_whoever_drafted_it_cannot_publish_or_send_it_back_even_holding_both_roles(
        self, client: TestClient, settings: Settings, sample: dict[str, Any]
    ) -> None:
        both = token(settings, AN, Role.EDITOR, Role.APPROVER)
        create(client, both, sample["MB.XD.001"])
        decision_id = draft_decision(client, both, decision_body(new("MB.XD.001")))
        ok(client.post(f"/v1/decisions/{decision_id}/submit", headers=both))

        publish = client.post(f"/v1/decisions/{decision_id}/publish", headers=both)
        assert publish.status_code == 403
        assert publish.json()["detail"] == "you created decision 12/QĐ-SXD; another approver must publish it"
        send_back = client.post(f"/v1/decisions/{decision_id}/send-back", json={"reason": "x"}, headers=both)
        assert send_back.status_code == 403
        assert (
            send_back.json()["detail"] == "you created decision 12/QĐ-SXD; another approver must send it back"
        )
        assert ok(client.get(f"/v1/decisions/{decision_id}", headers=both))["status"] == "submitted"

        # Editing someone else's draft makes it yours too.
        binh = token(settings, BINH, Role.EDITOR, Role.APPROVER)
        ok(
            client.post(
                f"/v1/decisions/{decision_id}/send-back", json={"reason": "Sửa tiêu đề"}, headers=binh
            )
        )
        ok(client.patch(f"/v1/decisions/{decision_id}", json={"title": "Tiêu đề mới"}, headers=binh))
        ok(client.post(f"/v1/decisions/{decision_id}/submit", headers=both))
        refused = client.post(f"/v1/decisions/{decision_id}/publish", headers=binh)
        assert refused.status_code == 403 and refused.json()["detail"].startswith("you last edited decision")
        chi = token(settings, CHI, Role.APPROVER)
        assert ok(client.post(f"/v1/decisions/{decision_id}/publish", headers=chi))["published_by"] == CHI

    def test_sent_back_with_a_reason_the_editors_see_until_they_submit_again(
        self,
        client: TestClient,
        editor: dict[str, str],
        approver: dict[str, str],
        settings: Settings,
        sample: dict[str, Any],
    ) -> None:
        create(client, editor, sample["MB.XD.001"])
        decision_id = draft_decision(client, editor, decision_body(new("MB.XD.001")))
        ok(client.post(f"/v1/decisions/{decision_id}/submit", headers=editor))

        for body, field in (
            ({"reason": "   "}, "reason"),
            ({}, "reason"),
            ({"reason": "x" * 2001}, "reason"),
        ):
            refused = client.post(f"/v1/decisions/{decision_id}/send-back", json=body, headers=approver)
            assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == [field]

        reason = "Thiếu căn cứ pháp lý của thủ tục MB.XD.001"
        returned = ok(
            client.post(f"/v1/decisions/{decision_id}/send-back", json={"reason": reason}, headers=approver)
        )
        assert (returned["status"], returned["return_reason"], returned["returned_by"]) == (
            "draft",
            reason,
            "test-approver",
        )
        assert returned["returned_at"].endswith("+07:00")
        # The editor reads it on the decision; it stays through edits, and goes at the next submit.
        ok(
            client.patch(
                f"/v1/decisions/{decision_id}", json={"issuer": "UBND tỉnh Thái Bình"}, headers=editor
            )
        )
        assert ok(client.get(f"/v1/decisions/{decision_id}", headers=editor))["return_reason"] == reason
        resubmitted = ok(client.post(f"/v1/decisions/{decision_id}/submit", headers=editor))
        assert (resubmitted["return_reason"], resubmitted["returned_by"]) == (None, None)
        again = client.post(f"/v1/decisions/{decision_id}/send-back", json={"reason": "x"}, headers=approver)
        assert again.status_code == 200
        twice = client.post(f"/v1/decisions/{decision_id}/send-back", json={"reason": "x"}, headers=approver)
        assert (
            twice.status_code == 409
            and "only a submitted decision can be sent back" in twice.json()["detail"]
        )
        assert outbox_rows(settings) == []  # the review writes no event

    def test_patch_edits_a_draft_with_the_validation_of_create(
        self, client: TestClient, editor: dict[str, str], sample: dict[str, Any]
    ) -> None:
        create(client, editor, sample["MB.XD.001"])
        decision_id = draft_decision(client, editor, decision_body(new("MB.X.1"), new("MB.X.2")))
        edited = ok(
            client.patch(
                f"/v1/decisions/{decision_id}",
                json={"number": " 13/QĐ-SXD ", "changes": [new("MB.XD.001")]},
                headers=editor,
            )
        )
        assert edited["number"] == "13/QĐ-SXD" and edited["title"] == "Công bố thủ tục hành chính"
        assert [c["procedure_code"] for c in edited["changes"]] == ["MB.XD.001"]  # the list replaced whole
        assert edited["changes"][0]["procedure_name"].startswith("Cấp giấy phép xây dựng mới")
        assert (edited["edited_by"], edited["created_by"]) == ("test-editor", "test-editor")

        signed_on = edited["signed_on"]
        day_before = (date.fromisoformat(signed_on) - timedelta(days=1)).isoformat()
        for body, field in (
            ({"number": None}, "number"),
            ({"title": ""}, "title"),
            ({"changes": []}, "changes"),
            ({"changes": [{"action": "merge", "procedure_code": "MB.XD.001"}]}, "changes.0.action"),
            ({"changes": [{"action": "replace", "procedure_code": "MB.XD.001"}]}, "changes.0"),
            ({"effective_on": day_before}, "effective_on"),  # before the stored signed_on
            ({"colour": "red"}, "colour"),
        ):
            refused = client.patch(f"/v1/decisions/{decision_id}", json=body, headers=editor)
            assert refused.status_code == 422, (body, refused.text)
            assert field in [e["field"] for e in refused.json()["errors"]], (body, refused.text)
        unchanged = ok(client.get(f"/v1/decisions/{decision_id}", headers=editor))
        assert unchanged["effective_on"] == edited["effective_on"] and unchanged["number"] == "13/QĐ-SXD"
        assert client.patch("/v1/decisions/9999", json={"title": "x"}, headers=editor).status_code == 404

        ok(client.post(f"/v1/decisions/{decision_id}/submit", headers=editor))
        refused = client.patch(f"/v1/decisions/{decision_id}", json={"title": "x"}, headers=editor)
        assert refused.status_code == 409
        assert refused.json()["detail"] == (
            "cannot edit decision 13/QĐ-SXD: it is submitted; only a draft can be edited"
        )

    def test_delete_removes_a_draft_and_nothing_else(
        self, client: TestClient, editor: dict[str, str], approver: dict[str, str], in_force: dict[str, Any]
    ) -> None:
        decision_id = draft_decision(
            client, editor, decision_body({"action": "abolish", "procedure_code": "MB.XD.004"})
        )
        deleted = client.delete(f"/v1/decisions/{decision_id}", headers=editor)
        assert deleted.status_code == 204 and deleted.content == b""
        assert client.get(f"/v1/decisions/{decision_id}", headers=editor).status_code == 404
        assert client.delete(f"/v1/decisions/{decision_id}", headers=editor).status_code == 404
        assert client.post(f"/v1/decisions/{decision_id}/submit", headers=editor).status_code == 404

        refused = client.delete(f"/v1/decisions/{in_force['id']}", headers=editor)
        assert refused.status_code == 409 and "only a draft can be deleted" in refused.json()["detail"]
        assert client.get(f"/v1/decisions/{in_force['id']}").json()["status"] == "in_effect"

    def test_staff_list_decisions_by_status_the_public_only_published_ones(
        self,
        client: TestClient,
        editor: dict[str, str],
        approver: dict[str, str],
        hotline: dict[str, str],
        sample: dict[str, Any],
        in_force: dict[str, Any],
    ) -> None:
        create(client, editor, sample["MB.XD.005"])
        submitted = draft_decision(client, editor, decision_body(new("MB.XD.005")))
        ok(client.post(f"/v1/decisions/{submitted}/submit", headers=editor))
        draft = draft_decision(
            client, editor, decision_body({"action": "abolish", "procedure_code": "MB.XD.004"})
        )

        def ids(headers: dict[str, str], *statuses: str) -> list[int]:
            page = ok(client.get("/v1/decisions", params=[("status", s) for s in statuses], headers=headers))
            return [d["id"] for d in page["items"]]

        assert sorted(ids(approver)) == sorted([in_force["id"], submitted, draft])
        assert ids(approver, "submitted") == [submitted]  # the approval inbox
        assert sorted(ids(editor, "draft", "submitted")) == sorted([submitted, draft])
        inbox = ok(client.get("/v1/decisions", params={"status": "submitted"}, headers=approver))["items"][0]
        assert (inbox["created_by"], inbox["submitted_by"]) == ("test-editor", "test-editor")

        for headers in ({}, hotline):
            assert ids(headers) == [in_force["id"]]
            assert ids(headers, "in_effect", "scheduled") == [in_force["id"]]
            refused = client.get("/v1/decisions", params={"status": "submitted"}, headers=headers)
            assert refused.status_code == 422
            assert refused.json()["errors"] == [
                {"field": "query.status", "message": "submitted decisions are listed for staff only"}
            ]
            assert "test-editor" not in client.get("/v1/decisions", headers=headers).text
        unknown = client.get("/v1/decisions", params={"status": "pending"}, headers=approver)
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "query.status.0"

    def test_staff_list_draft_procedures_with_who_last_edited_them(
        self,
        client: TestClient,
        settings: Settings,
        hotline: dict[str, str],
        sample: dict[str, Any],
        in_force: dict[str, Any],
    ) -> None:
        an, binh = token(settings, AN, Role.EDITOR), token(settings, BINH, Role.EDITOR)
        create(client, an, sample["MB.XD.005"])
        create(client, an, {"code": "MB.X.1", "name": "Thủ tục nháp"})
        ok(client.patch("/v1/procedures/MB.X.1", json={"result": "Giấy phép"}, headers=binh))

        drafts = ok(client.get("/v1/procedures", params={"status": "draft"}, headers=binh))
        assert [(p["code"], p["drafted_by"], p["edited_by"]) for p in drafts["items"]] == [
            ("MB.X.1", AN, BINH),
            ("MB.XD.005", AN, AN),
        ]
        assert drafts["total"] == 2 and drafts["items"][0]["status"] == "draft"
        assert drafts["items"][0]["edited_at"].endswith("+07:00")
        found = ok(client.get("/v1/procedures", params={"status": "draft", "q": "thu tuc nhap"}, headers=an))
        assert [p["code"] for p in found["items"]] == ["MB.X.1"]
        # In force, for staff: the same list the public gets, with who last edited each.
        listed = ok(client.get("/v1/procedures", headers=an))["items"]
        assert [(p["code"], p["edited_by"]) for p in listed] == [
            ("MB.XD.001", "test-editor"),
            ("MB.XD.004", "test-editor"),
        ]

        for headers in ({}, hotline, {"Authorization": "Bearer not-a-token"}):
            refused = client.get("/v1/procedures", params={"status": "draft"}, headers=headers)
            assert refused.status_code == 422, headers
            [error] = refused.json()["errors"]
            assert error["field"] == "query.status" and "drafts: staff only" in error["message"]
            public = client.get("/v1/procedures", headers=headers)
            assert [p["code"] for p in public.json()["items"]] == ["MB.XD.001", "MB.XD.004"]
            assert "edited_by" not in public.text and "test-editor" not in public.text
