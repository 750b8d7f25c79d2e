"""CORS: the portal's pages may call the public ticket endpoints; other origins and paths may not."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from minhbach_testing.plugin import RedisServer

from ..conftest import ticket_body

PORTAL = "http://127.0.0.1:8004"
ELSEWHERE = "https://evil.example"


def preflight(client: TestClient, path: str, origin: str, method: str = "POST") -> dict[str, str]:
    response = client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )
    return {k.lower(): v for k, v in response.headers.items()} | {"status": str(response.status_code)}


def test_the_default_origins_are_the_local_portal(settings: Settings) -> None:
    assert settings.cors_origins == ["http://127.0.0.1:8004", "http://localhost:8004"]


def test_a_preflight_from_the_portal_is_accepted(client: TestClient) -> None:
    headers = preflight(client, "/v1/public/tickets", PORTAL)
    assert headers["status"] == "200"
    assert headers["access-control-allow-origin"] == PORTAL
    assert "POST" in headers["access-control-allow-methods"]
    assert "content-type" in headers["access-control-allow-headers"].lower()

    lookup = preflight(client, "/v1/public/tickets/PAKN-2026-000001", PORTAL, method="GET")
    assert lookup["access-control-allow-origin"] == PORTAL


def test_a_preflight_from_another_origin_gets_no_allow_origin(client: TestClient) -> None:
    headers = preflight(client, "/v1/public/tickets", ELSEWHERE)
    assert "access-control-allow-origin" not in headers
    assert headers["status"] == "400"


def test_only_the_public_ticket_endpoints_speak_cors(client: TestClient) -> None:
    for path in ("/v1/tickets", "/v1/public/answers", "/v1/public/statistics"):
        assert "access-control-allow-origin" not in preflight(client, path, PORTAL), path


def test_responses_to_the_portal_carry_the_origin_and_expose_retry_after(client: TestClient) -> None:
    posted = client.post("/v1/public/tickets", json=ticket_body(), headers={"Origin": PORTAL})
    assert posted.status_code == 202, posted.text
    assert posted.headers["access-control-allow-origin"] == PORTAL
    assert "retry-after" in posted.headers["access-control-expose-headers"].lower()
    code = posted.json()["tracking_code"]
    looked_up = client.get(f"/v1/public/tickets/{code}", headers={"Origin": PORTAL})
    assert looked_up.headers["access-control-allow-origin"] == PORTAL
    other = client.get(f"/v1/public/tickets/{code}", headers={"Origin": ELSEWHERE})
    assert "access-control-allow-origin" not in other.headers


@pytest.fixture
def limited(make_settings: Callable[..., Settings], redis_server: RedisServer) -> Iterator[TestClient]:
    settings = make_settings(redis_server.url, public_rate_limit=1, cors_origins=[PORTAL])
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_a_429_reaches_the_portal_with_its_retry_after(limited: TestClient) -> None:
    assert (
        limited.post("/v1/public/tickets", json=ticket_body(), headers={"Origin": PORTAL}).status_code == 202
    )
    refused = limited.post("/v1/public/tickets", json=ticket_body(), headers={"Origin": PORTAL})
    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == PORTAL
    assert int(refused.headers["retry-after"]) >= 1


def test_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_CORS_ORIGINS", '["https://cchc.xaydung.thaibinh.gov.vn"]')
    assert Settings().cors_origins == ["https://cchc.xaydung.thaibinh.gov.vn"]
