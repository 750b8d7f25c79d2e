"""Accent-insensitive search: the shared look-up cases, hostile input, and a large catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, text

from minhbach_shared.db import make_engine, migrate
from minhbach_shared.outbox import relay_waker
from minhbach_shared.text import fold
from minhbach_testing.plugin import RedisServer, shared_dir
from procedures import services
from procedures.app import create_app
from procedures.db import procedures
from procedures.manage import MIGRATIONS
from procedures.search import body_text
from procedures.settings import Settings
from procedures.uow import UnitOfWork

CASES = json.loads((shared_dir() / "data" / "search-cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_client(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sample_payload: dict[str, Any],
    session_redis_server: RedisServer,
) -> Iterator[TestClient]:
    """The sample procedures in force (loaded once for the module, as `load-demo` does),
    on SQLite (FTS5, local) and on PostgreSQL (docker compose)."""
    tmp = tmp_path_factory.mktemp("search")
    if request.param == "postgresql":
        database_url = request.getfixturevalue("postgres_server").create_database("search")
    else:
        database_url = f"sqlite:///{tmp / 'p.db'}"
    redis = session_redis_server
    settings = Settings(database_url=database_url, redis_url=redis.url, log_json=False)
    migrate(settings.database_url, MIGRATIONS)
    engine = make_engine(settings.database_url)
    wake = relay_waker(redis.client(), "procedures")
    assert services.load_demo(UnitOfWork(engine, wake), sample_payload, now=datetime.now(UTC)) == 12
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        yield client


def codes(client: TestClient, **params: Any) -> list[str]:
    response = client.get("/v1/procedures", params={"size": 100, **params})
    assert response.status_code == 200, response.text
    return [p["code"] for p in response.json()["items"]]


@pytest.mark.parametrize("case", CASES, ids=[c["q"] for c in CASES])
def test_search_case(demo_client: TestClient, case: dict[str, Any]) -> None:
    found = codes(demo_client, q=case["q"])
    assert set(case["must"]) <= set(found), found
    assert not set(case["must_not"]) & set(found), found
    if case.get("first"):
        assert found[0] == case["first"], found


def test_name_matches_rank_above_body_matches(demo_client: TestClient) -> None:
    found = codes(demo_client, q="giấy phép xây dựng")
    # MB.XD.002 mentions a building permit only outside its name.
    assert "MB.XD.002" in found and found[-1] == "MB.XD.002"


def test_code_is_case_insensitive_and_first(demo_client: TestClient) -> None:
    assert codes(demo_client, q="mb.bds.001")[0] == "MB.BDS.001"


@pytest.mark.parametrize(
    "q", ['"', "AND (", "NEAR(", "*", "%", "_", "\\", "giay OR", "name: x", "'; DROP TABLE x; --", "đ" * 200]
)
def test_hostile_queries_never_fail(demo_client: TestClient, q: str) -> None:
    response = demo_client.get("/v1/procedures", params={"q": q})
    assert response.status_code == 200


def test_filter_by_field_and_paginate(demo_client: TestClient) -> None:
    everything = demo_client.get("/v1/procedures").json()
    assert everything["total"] == 12 and everything["size"] == 20
    in_field = codes(demo_client, field="Hoạt động xây dựng")
    assert len(in_field) == 8 and all(c.startswith("MB.XD.") for c in in_field)
    page2 = demo_client.get("/v1/procedures", params={"size": 5, "page": 3}).json()
    assert page2["total"] == 12 and len(page2["items"]) == 2
    assert demo_client.get("/v1/procedures", params={"size": 101}).status_code == 422
    assert demo_client.get("/v1/procedures", params={"page": 0}).status_code == 422


def test_search_in_ten_thousand_procedures(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    fts: list[dict[str, Any]] = []
    for i in range(1, 10_001):
        name = f"Thủ tục số {i} về cấp phép hoạt động xây dựng"
        if i == 7777:
            name = "Cấp giấy chứng nhận đủ điều kiện kinh doanh dịch vụ đánh giá an toàn đập"
        content = {"name": name, "field": "Hoạt động xây dựng", "steps": [f"Bước {i}"]}
        code = f"SEED.{i:05d}"
        rows.append(
            {
                "id": i,
                "code": code,
                "status": "in_force",
                "version": 1,
                "published": content,
                "name": name,
                "field": content["field"],
                "created_at": now,
                "updated_at": now,
            }
        )
        fts.append({"id": i, "code": fold(code), "name": fold(name), "body": body_text(content)})
    with engine.begin() as conn:
        conn.execute(insert(procedures), rows)
        conn.execute(
            text("INSERT INTO procedure_search (rowid, code, name, body) VALUES (:id, :code, :name, :body)"),
            fts,
        )
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        page = client.get("/v1/procedures", params={"q": "dap an toan", "size": 5}).json()
        assert page["total"] == 1 and page["items"][0]["code"] == "SEED.07777"
        assert codes(client, q="SEED.00042")[0] == "SEED.00042"
        assert (
            client.get("/v1/procedures", params={"q": "xay dung"}).json()["total"] == 10_000
        )  # the field holds both words
