"""Writes are refused before their body is read (issue 12): without a token, with the wrong
role, or too large — declared, or streamed chunked without a Content-Length. The witness
is how many body bytes the app pulled from the client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from minhbach_shared.auth import Role
from minhbach_testing.bodies import BodyReadCounter, chunks, post_streamed
from minhbach_testing.plugin import serving

from ..conftest import token

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def counted(settings: Settings) -> Iterator[tuple[TestClient, BodyReadCounter]]:
    counter = BodyReadCounter(create_app(settings))
    with TestClient(counter, raise_server_exceptions=False) as client:  # type: ignore[arg-type]
        yield client, counter


def test_a_staff_write_without_the_role_is_refused_before_its_body_is_read(
    counted: tuple[TestClient, BodyReadCounter], settings: Settings
) -> None:
    client, counter = counted
    anonymous = client.post("/v1/tickets", content=chunks(2_000_000), headers=JSON)
    assert anonymous.status_code == 401 and counter.read == 0
    editor = client.post(
        "/v1/tickets", content=chunks(2_000_000), headers={**JSON, **token(settings, Role.EDITOR)}
    )
    assert editor.status_code == 403 and counter.read == 0
    forged = client.post(
        "/v1/units", content=chunks(100_000), headers={**JSON, "Authorization": "Bearer x.y.z"}
    )
    assert forged.status_code == 401 and counter.read == 0


def test_a_public_body_too_large_is_cut_off_while_it_streams(settings: Settings) -> None:
    counter = BodyReadCounter(create_app(settings))
    limit = settings.max_body_bytes
    with serving(counter) as url:
        status = post_streamed(url, "/v1/public/tickets", JSON, chunks(100 * limit))
    assert status == 413
    # The limit and what the server had buffered meanwhile (under load, a few reads), not 100 times it.
    assert counter.read <= limit + 1024 * 1024


def test_a_body_declared_too_large_is_refused_unread(
    counted: tuple[TestClient, BodyReadCounter], settings: Settings
) -> None:
    client, counter = counted
    limit = settings.max_body_bytes
    declared = client.post(
        "/v1/public/tickets", content=b"x" * (limit + 1), headers={**JSON, "Content-Length": str(limit + 1)}
    )
    assert declared.status_code == 413 and counter.read == 0
    # A body within the limit is read and answered as before.
    assert client.post("/v1/public/tickets", content=b"{}", headers=JSON).status_code == 422


def test_a_write_is_verified_once_though_checked_before_and_after_its_body(
    counted: tuple[TestClient, BodyReadCounter], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minhbach_shared.auth import TokenVerifier

    calls: list[str] = []
    verify = TokenVerifier.verify

    def counting(self: TokenVerifier, raw: str) -> object:
        calls.append(raw)
        return verify(self, raw)

    monkeypatch.setattr(TokenVerifier, "verify", counting)
    client, _ = counted
    added = client.post("/v1/units", json={"name": "Phòng Thử Một Lần"}, headers=token(settings, Role.ADMIN))
    assert added.status_code == 201 and len(calls) == 1
