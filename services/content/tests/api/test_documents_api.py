"""Legal and directive documents: relations in both directions, in-force status, events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from content import services
from content.settings import Settings
from content.uow import UnitOfWork
from minhbach_shared.auth import Role
from minhbach_shared.db import make_engine
from minhbach_shared.outbox import relay_waker
from minhbach_shared.procedures_api import ProceduresApi
from minhbach_testing.plugin import RedisServer

H = dict[str, str]


def load_demo(settings: Settings, redis_server: RedisServer, payload: dict[str, Any]) -> int:
    engine = make_engine(settings.database_url)
    procedures = ProceduresApi(settings.procedures_url)
    try:
        return services.load_demo_documents(
            UnitOfWork(engine, relay_waker(redis_server.client(), "content")), payload, procedures=procedures
        )
    finally:
        procedures.close()
        engine.dispose()


def by_number(client: TestClient) -> dict[str, dict[str, Any]]:
    items = client.get("/v1/documents?size=100").json()["items"]
    return {d["number"]: d for d in items}


def test_demo_documents_show_relations_both_ways(
    client: TestClient,
    settings: Settings,
    redis_server: RedisServer,
    legal_documents: dict[str, Any],
    outbox: Callable[[], list[dict[str, Any]]],
) -> None:
    assert load_demo(settings, redis_server, legal_documents) == 6
    assert load_demo(settings, redis_server, legal_documents) == 0  # only into an empty database
    docs = by_number(client)
    assert len(docs) == 6
    amended, amending = docs["61/2018/NĐ-CP"], docs["107/2021/NĐ-CP"]
    assert amending["relations"] == [
        {"kind": "amends", "number": "61/2018/NĐ-CP", "document_id": amended["id"]}
    ]
    one = client.get(f"/v1/documents/{amended['id']}").json()
    assert one["related_by"] == [
        {"kind": "amended_by", "number": "107/2021/NĐ-CP", "document_id": amending["id"]}
    ]
    assert one["in_force"] is True and one["version"] == 2 and one["effective_on"] is None
    assert set(one) == {
        "id", "version", "number", "type", "issuer", "signed_on", "effective_on", "title",
        "summary", "attachment", "in_force", "relations", "related_by", "procedure_codes",
    }  # fmt: skip
    events = [(e["type"], e["subject"]["id"], e["version"]) for e in outbox()]
    assert len(events) == 7 and all(t == "document.published" for t, _, _ in events)
    assert (("document.published", str(amended["id"]), 2)) in events
    assert events.index(("document.published", str(amended["id"]), 1)) < events.index(
        ("document.published", str(amending["id"]), 1)
    )
    versions = {s["id"]: s["version"] for s in client.get("/v1/sync/versions").json()["subjects"]}
    assert versions[str(amended["id"])] == 2 and len(versions) == 6
    assert [
        d["number"] for d in client.get("/v1/documents", params={"q": "mot cua lien thong"}).json()["items"]
    ] == [
        "107/2021/NĐ-CP",
        "61/2018/NĐ-CP",
    ]


def test_a_replaced_document_is_no_longer_in_force(
    client: TestClient, editor: H, outbox: Callable[[], list[dict[str, Any]]]
) -> None:
    old = {
        "number": "15/KH-UBND",
        "type": "Kế hoạch",
        "issuer": "UBND tỉnh Thái Bình",
        "signed_on": "2022-02-07",
        "title": "Kế hoạch tuyên truyền cải cách hành chính năm 2022",
    }
    created = client.post("/v1/documents", json=old, headers=editor)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.json()["in_force"] is True
    new = {
        **old,
        "number": "20/KH-UBND",
        "signed_on": "2023-01-10",
        "effective_on": "2023-01-15",
        "procedure_codes": ["MB.XD.001"],
        "relations": [{"kind": "replaces", "number": "15/KH-UBND"}],
    }
    response = client.post("/v1/documents", json=new, headers=editor)
    assert response.status_code == 201, response.text
    replaced = client.get(f"/v1/documents/{created.json()['id']}").json()
    assert replaced["in_force"] is False and replaced["version"] == 2
    assert replaced["related_by"][0]["kind"] == "replaced_by"
    events = {(e["subject"]["id"], e["version"]): e["data"]["in_force"] for e in outbox()}
    old_id, new_id = str(created.json()["id"]), str(response.json()["id"])
    assert events == {(old_id, 1): True, (old_id, 2): False, (new_id, 1): True}


def test_document_refusals(client: TestClient, editor: H, approver: H) -> None:
    body = {
        "number": "76/NQ-CP",
        "type": "Nghị quyết",
        "issuer": "Chính phủ",
        "signed_on": "2021-07-15",
        "title": "Chương trình tổng thể cải cách hành chính nhà nước giai đoạn 2021-2030",
    }
    assert client.post("/v1/documents", json=body).status_code == 401
    assert client.post("/v1/documents", json=body, headers=approver).status_code == 403
    missing = client.post(
        "/v1/documents",
        json={**body, "relations": [{"kind": "amends", "number": "1/2000/NĐ-CP"}]},
        headers=editor,
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "relations[0].number"
    unknown = client.post("/v1/documents", json={**body, "procedure_codes": ["MB.XD.999"]}, headers=editor)
    assert unknown.status_code == 422
    assert (
        client.post("/v1/documents", json={**body, "signed_on": "hôm qua"}, headers=editor).status_code == 422
    )
    assert client.post("/v1/documents", json=body, headers=editor).status_code == 201
    duplicate = client.post("/v1/documents", json=body, headers=editor)
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    itself = client.post(
        "/v1/documents",
        json={**body, "number": "77/NQ-CP", "relations": [{"kind": "amends", "number": "77/NQ-CP"}]},
        headers=editor,
    )
    assert itself.status_code == 422
    assert client.get("/v1/documents/999").status_code == 404


def test_an_editor_corrects_a_filing_and_every_page_gets_a_new_version(
    client: TestClient, editor: H, approver: H, outbox: Callable[[], list[dict[str, Any]]]
) -> None:
    body = {
        "number": "15/KH-SXD",
        "type": "Kế hoạch",
        "issuer": "Sở Xây dựng tỉnh Thái Bình",
        "signed_on": "2022-02-07",
        "title": "Kế hoạch tuyen truyen cải cách hành chính",  # a typo to correct
    }
    created = client.post("/v1/documents", json=body, headers=editor).json()
    url = f"/v1/documents/{created['id']}"
    fixed = client.patch(url, json={"title": "Kế hoạch tuyên truyền cải cách hành chính"}, headers=editor)
    assert fixed.status_code == 200, fixed.text
    assert (
        fixed.json()["title"] == "Kế hoạch tuyên truyền cải cách hành chính" and fixed.json()["version"] == 2
    )
    assert client.get("/v1/documents?q=tuyen truyen").json()["items"][0]["version"] == 2
    ended = client.patch(url, json={"in_force": False}, headers=editor).json()
    assert ended["in_force"] is False and ended["version"] == 3 and ended["issuer"] == body["issuer"]
    assert [(e["type"], e["version"], e["data"]["in_force"]) for e in outbox()] == [
        ("document.published", 1, True),
        ("document.published", 2, True),
        ("document.published", 3, False),
    ]


def test_a_correction_cannot_touch_the_number_or_relations_and_names_what_is_wrong(
    client: TestClient, editor: H, approver: H, outbox: Callable[[], list[dict[str, Any]]]
) -> None:
    body = {
        "number": "16/KH-SXD",
        "type": "Kế hoạch",
        "issuer": "Sở Xây dựng tỉnh Thái Bình",
        "signed_on": "2022-02-07",
        "title": "Kế hoạch kiểm soát thủ tục hành chính",
    }
    url = f"/v1/documents/{client.post('/v1/documents', json=body, headers=editor).json()['id']}"
    assert client.patch(url, json={"title": "x"}).status_code == 401
    assert client.patch(url, json={"title": "x"}, headers=approver).status_code == 403
    for wrong, field in (
        ({"number": "17/KH-SXD"}, "number"),
        ({"relations": []}, "relations"),
        ({"title": ""}, "title"),
        ({"title": None}, "body"),
        ({}, "body"),
        ({"procedure_codes": ["MB.XD.999"]}, "procedure_codes[0]"),
        ({"attachment": "0" * 64}, "attachment"),
    ):
        refused = client.patch(url, json=wrong, headers=editor)
        assert refused.status_code == 422, (wrong, refused.text)
        assert refused.json()["errors"][0]["field"] == field, (wrong, refused.json())
    assert client.patch("/v1/documents/999", json={"title": "x"}, headers=editor).status_code == 404
    assert [e["version"] for e in outbox()] == [1], "nothing refused changed anything"


def test_the_history_shows_each_correction_newest_first_with_who_and_the_old_values(
    client: TestClient, editor: H, approver: H, hotline: H, make_token: Callable[..., dict[str, str]]
) -> None:
    body = {
        "number": "18/KH-SXD",
        "type": "Kế hoạch",
        "issuer": "Sở Xây dựng tỉnh Thái Bình",
        "signed_on": "2022-02-07",
        "title": "Kế hoạch cai cach hanh chinh",
        "procedure_codes": ["MB.XD.001"],
    }
    created = client.post("/v1/documents", json=body, headers=editor).json()
    url = f"/v1/documents/{created['id']}"
    fixed = client.patch(
        url,
        json={
            "title": "Kế hoạch cải cách hành chính",
            "issuer": body["issuer"],
            "reason": "  Gõ thiếu dấu  ",
        },
        headers=editor,
    )
    assert fixed.status_code == 200 and fixed.json()["version"] == 2
    other = make_token("editor-hoa", Role.EDITOR)
    dated = client.patch(
        url, json={"signed_on": "2022-02-08", "effective_on": "2022-02-15", "in_force": False}, headers=other
    )
    assert dated.status_code == 200, dated.text

    history = client.get(f"{url}/history", headers=approver)
    assert history.status_code == 200, history.text
    shown = history.json()
    assert (shown["document_id"], shown["number"], shown["version"], shown["filed_by"]) == (
        created["id"],
        "18/KH-SXD",
        3,
        "editor-lan",
    )
    assert shown["filed_at"].endswith("+07:00")
    newest, first = shown["items"]
    assert (newest["version"], newest["corrected_by"], newest["reason"]) == (3, "editor-hoa", None)
    assert newest["changes"] == {
        "signed_on": {"before": "2022-02-07", "after": "2022-02-08"},
        "effective_on": {"before": None, "after": "2022-02-15"},
        "in_force": {"before": True, "after": False},
    }
    assert list(newest["changes"]) == ["signed_on", "effective_on", "in_force"]
    assert newest["corrected_at"].endswith("+07:00")
    assert (first["version"], first["corrected_by"], first["reason"]) == (2, "editor-lan", "Gõ thiếu dấu")
    assert first["changes"] == {
        "title": {"before": "Kế hoạch cai cach hanh chinh", "after": "Kế hoạch cải cách hành chính"}
    }
    assert client.get(f"{url}/history", headers=editor).json() == shown
    # Staff only: the public and other roles get no history; an unknown document is a 404.
    assert client.get(f"{url}/history").status_code == 401
    assert client.get(f"{url}/history", headers=hotline).status_code == 403
    assert client.get("/v1/documents/999/history", headers=editor).status_code == 404
    assert "reason" not in client.get(url).json()  # the reason is the history's, not the document's


def test_a_correction_that_changes_nothing_is_refused_naming_the_fields_and_keeps_no_history(
    client: TestClient, editor: H, outbox: Callable[[], list[dict[str, Any]]]
) -> None:
    body = {
        "number": "19/KH-SXD",
        "type": "Kế hoạch",
        "issuer": "Sở Xây dựng tỉnh Thái Bình",
        "signed_on": "2022-02-07",
        "title": "Kế hoạch kiểm tra công vụ",
    }
    url = f"/v1/documents/{client.post('/v1/documents', json=body, headers=editor).json()['id']}"
    same = client.patch(
        url, json={"title": body["title"], "signed_on": "2022-02-07", "reason": "thử"}, headers=editor
    )
    assert same.status_code == 422, same.text
    assert [e["field"] for e in same.json()["errors"]] == ["signed_on", "title"]
    assert "nothing to correct" in same.json()["errors"][0]["message"]
    only_reason = client.patch(url, json={"reason": "chỉ có lý do"}, headers=editor)
    assert only_reason.status_code == 422 and only_reason.json()["errors"][0]["field"] == "body"
    too_long = client.patch(url, json={"title": "Mới", "reason": "x" * 2001}, headers=editor)
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "reason"
    # A change with a refused part writes none of it.
    half = client.patch(url, json={"title": "Sửa một nửa", "attachment": "0" * 64}, headers=editor)
    assert half.status_code == 422
    assert client.get(url).json()["title"] == body["title"]
    assert client.get(f"{url}/history", headers=editor).json()["items"] == []
    assert [e["version"] for e in outbox()] == [1]
