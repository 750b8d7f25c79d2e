"""The public form's defences: a rate limit per client with 429 + Retry-After, and a honeypot."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from minhbach_shared.auth import Role
from minhbach_testing.plugin import RedisServer

from ..conftest import ticket_body, token


@pytest.fixture
def limited(
    make_settings: Callable[..., Settings], redis_server: RedisServer
) -> Iterator[tuple[TestClient, Settings]]:
    settings = make_settings(redis_server.url, public_rate_limit=3, public_rate_window_s=2)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, settings


def test_a_flood_gets_429_and_the_service_answers_after_the_window(
    limited: tuple[TestClient, Settings],
) -> None:
    client, settings = limited
    statuses = [client.post("/v1/public/tickets", json=ticket_body()).status_code for _ in range(20)]
    assert statuses[:3] == [202, 202, 202]
    assert set(statuses[3:]) == {429}
    refused = client.post("/v1/public/tickets", json=ticket_body())
    assert refused.status_code == 429
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 2
    assert "try again in" in refused.json()["detail"]
    # Invalid bodies count too: the limit runs before the body is read.
    assert client.post("/v1/public/tickets", json={}).status_code == 429
    # The service itself stays up for everything else.
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/public/statistics").status_code == 200
    staff = token(settings, Role.HOTLINE)
    assert client.get("/v1/tickets", headers=staff).json()["total"] == 3

    time.sleep(retry_after + 0.2)
    assert client.post("/v1/public/tickets", json=ticket_body()).status_code == 202
    assert client.get("/v1/tickets", headers=staff).json()["total"] == 4


def test_clients_are_counted_apart(limited: tuple[TestClient, Settings], redis_server: RedisServer) -> None:
    client, _ = limited
    for _ in range(4):
        client.post("/v1/public/tickets", json=ticket_body())
    keys = sorted(k.decode() for k in redis_server.client().keys("mb:hotline:ratelimit:*"))
    assert keys == ["mb:hotline:ratelimit:testclient"]
    assert 0 < redis_server.client().ttl(keys[0]) <= 2


def test_the_honeypot_looks_accepted_but_keeps_nothing(client: TestClient, hotline: dict[str, str]) -> None:
    response = client.post("/v1/public/tickets", json=ticket_body(website="http://spam.example"))
    assert response.status_code == 202
    receipt = response.json()
    assert receipt["tracking_code"].startswith("PAKN-") and receipt["status"] == "received"
    assert client.get("/v1/tickets", headers=hotline).json()["total"] == 0
    assert client.get(f"/v1/public/tickets/{receipt['tracking_code']}").status_code == 404
    assert client.post("/v1/public/tickets", json=ticket_body(website="")).status_code == 202
    assert client.get("/v1/tickets", headers=hotline).json()["total"] == 1


def test_the_lookup_reads_a_code_as_typed_and_slows_down_anyone_trying_codes(
    make_settings: Callable[..., Settings], redis_server: RedisServer
) -> None:
    settings = make_settings(redis_server.url, lookup_rate_limit=5, lookup_rate_window_s=60)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        code = client.post("/v1/public/tickets", json=ticket_body()).json()["tracking_code"]
        typed = code.lower().replace("-", " ")
        assert client.get(f"/v1/public/tickets/{typed}").json()["tracking_code"] == code
        bad = client.get("/v1/public/tickets/not-a-code")
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"
        statuses = [client.get(f"/v1/public/tickets/PAKN-2026-{i:04d}-0000").status_code for i in range(10)]
        assert statuses[:3] == [404, 404, 404] and set(statuses[3:]) == {429}
        refused = client.get(f"/v1/public/tickets/{code}")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 60


def test_with_redis_unreachable_the_public_writes_are_refused_not_let_through(
    make_settings: Callable[..., Settings],
) -> None:
    from minhbach_testing.plugin import free_port

    settings = make_settings(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for _ in range(3):
            refused = client.post("/v1/public/tickets", json=ticket_body())
            assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
            assert "cannot be counted" in refused.json()["detail"]
        assert client.get("/v1/public/tickets/PAKN-2026-7K3M-9QXD").status_code == 503
        assert (
            client.get("/v1/tickets", headers=token(settings, Role.HOTLINE)).status_code == 200
        )  # staff work on
