"""An upload is refused before it is received (issue 12): without a token, with the wrong
role, or streaming past the store's limit without a Content-Length. The witness is how
many body bytes the app pulled from the client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from content.app import MULTIPART_SLACK, create_app
from content.settings import Settings
from minhbach_shared.auth import Role
from minhbach_testing.bodies import BodyReadCounter, chunks, post_streamed
from minhbach_testing.plugin import serving
from minhbach_testing.tokens import bearer

MULTIPART = {"Content-Type": "multipart/form-data; boundary=mbboundary"}


def multipart(total: int) -> Iterator[bytes]:
    yield b'--mbboundary\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
    yield b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    yield from chunks(total)
    yield b"\r\n--mbboundary--\r\n"


@pytest.fixture
def counted(settings: Settings) -> Iterator[tuple[TestClient, BodyReadCounter]]:
    counter = BodyReadCounter(create_app(settings))
    with TestClient(counter, raise_server_exceptions=False) as client:  # type: ignore[arg-type]
        yield client, counter


def test_an_anonymous_upload_is_refused_before_a_byte_is_spooled(
    counted: tuple[TestClient, BodyReadCounter],
) -> None:
    client, counter = counted
    assert client.post("/v1/attachments", content=multipart(5_000_000), headers=MULTIPART).status_code == 401
    hotline = bearer(Role.HOTLINE, subject="t", service="content")
    answer = client.post("/v1/attachments", content=multipart(5_000_000), headers={**MULTIPART, **hotline})
    assert answer.status_code == 403 and counter.read == 0


def test_an_upload_streamed_past_the_limit_is_cut_off(settings: Settings) -> None:
    counter = BodyReadCounter(create_app(settings))
    editor = bearer(Role.EDITOR, subject="t", service="content")
    limit = settings.max_attachment_bytes + MULTIPART_SLACK
    with serving(counter) as url:
        status = post_streamed(url, "/v1/attachments", {**MULTIPART, **editor}, multipart(10 * limit))
    assert status == 413
    # The limit and what the server had buffered meanwhile (under load, a few reads), not 10 times it.
    assert counter.read <= limit + 1024 * 1024
