"""Attachments: type by content, size limit, stored once by hash, served with the right headers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from content.app import create_app
from content.settings import Settings
from minhbach_testing.plugin import RedisServer, png

H = dict[str, str]


PNG = png(2, 2, (128, 128, 128))  # a real PNG, built with the standard library
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"


def stored_files(settings: Settings) -> list[Path]:
    root = settings.attachments_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def attachment_count(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM attachments")).scalar_one())
    engine.dispose()
    return count


def upload(client: TestClient, headers: H, name: str, data: bytes, declared: str = "application/pdf") -> Any:
    return client.post("/v1/attachments", files={"file": (name, data, declared)}, headers=headers)


def test_pdf_is_stored_once_and_served_with_safe_headers(
    client: TestClient, settings: Settings, editor: H
) -> None:
    name = "Kế hoạch tuyên truyền 2022.pdf"
    first = upload(client, editor, name, PDF, declared="application/octet-stream")
    assert first.status_code == 201, first.text
    sha = hashlib.sha256(PDF).hexdigest()
    assert first.json() == {
        "id": sha,
        "filename": name,
        "content_type": "application/pdf",
        "size": len(PDF),
        "url": f"/v1/attachments/{sha}",
    }
    again = upload(client, editor, "copy.pdf", PDF)
    assert again.status_code == 201 and again.json()["id"] == sha
    assert len(stored_files(settings)) == 1 and attachment_count(settings) == 1

    served = client.get(f"/v1/attachments/{sha}")
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "max-age=31536000" in served.headers["cache-control"]
    disposition = served.headers["content-disposition"]
    assert disposition.startswith("inline; ")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert client.get(f"/v1/attachments/{'0' * 64}").status_code == 404
    assert client.get("/v1/attachments/..%2Fcontent.db").status_code in (404, 422)


@pytest.mark.parametrize(
    ("name", "data", "declared"),
    [
        ("ghi-chu.txt", b"just some text\n", "text/plain"),
        ("trang.html", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "text/html"),
        ("anh.png", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/png"),
        ("bao-cao.pdf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, "application/pdf"),
        ("bao-cao.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "application/pdf"),
        ("empty.pdf", b"", "application/pdf"),
        # A real header in front of something else: the file must also end as its type does.
        ("anh.png", PNG[:33] + b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, "image/png"),
        ("bao-cao.pdf", b"%PDF-1.7\n" + b"MZ\x90\x00" + b"\x00" * 200, "application/pdf"),
        ("anh.gif", b"GIF89a" + b"\x7fELF" + b"\x00" * 100, "image/gif"),
        ("anh.jpg", b"\xff\xd8\xff\xe0" + b"#!/bin/sh\nrm -rf /\n", "image/jpeg"),
        ("anh.webp", b"RIFF\x04\x00\x00\x00WEBP" + b"\x00" * 300, "image/webp"),
    ],
)
def test_wrong_types_and_renamed_executables_are_refused_and_nothing_stored(
    client: TestClient, settings: Settings, editor: H, name: str, data: bytes, declared: str
) -> None:
    response = upload(client, editor, name, data, declared)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert stored_files(settings) == [] and attachment_count(settings) == 0


def test_a_file_that_starts_like_an_image_but_is_not_one_says_so(client: TestClient, editor: H) -> None:
    response = upload(client, editor, "anh.png", PNG[:33] + b"\x7fELF" + b"\x00" * 64, "image/png")
    assert response.status_code == 422
    assert "starts like a PNG but does not end like one" in response.json()["detail"]


def test_renamed_executable_message_says_what_it_is(client: TestClient, editor: H) -> None:
    response = upload(client, editor, "quyet-dinh.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 100)
    assert "ELF executable" in response.json()["detail"]
    assert "read from the content, not the name" in response.json()["detail"]


def test_oversize_is_refused_and_nothing_stored(
    make_settings: Callable[..., Settings], redis_server: RedisServer, editor: H
) -> None:
    settings = make_settings(redis_server.url, max_attachment_bytes=1024)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = upload(client, editor, "lon.png", PNG + b"\x00" * 2000, "image/png")
        assert response.status_code == 422
        assert "larger than the limit of 1 KB" in response.json()["detail"]
        assert stored_files(settings) == [] and attachment_count(settings) == 0
        assert upload(client, editor, "nho.png", PNG, "image/png").status_code == 201


def test_an_upload_declared_too_large_is_refused_before_it_is_read(
    make_settings: Callable[..., Settings], redis_server: RedisServer, editor: H
) -> None:
    import asyncio

    from content.app import MULTIPART_SLACK, UploadSizeLimit

    async def never_read() -> dict[str, Any]:
        raise AssertionError("the body was read")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the route ran")

    limit = UploadSizeLimit(app, path="/v1/attachments", max_bytes=1024)
    declared = str(1024 + MULTIPART_SLACK + 1).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/attachments",
        "headers": [(b"content-length", declared)],
    }
    asyncio.run(limit(scope, never_read, send))
    assert sent[0]["status"] == 422
    assert b'"field":"file"' in sent[1]["body"] and b"larger than the limit of 1 KB" in sent[1]["body"]

    # Through the whole app: the same answer, and nothing stored.
    settings = make_settings(redis_server.url, max_attachment_bytes=1024)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = upload(client, editor, "lon.pdf", PDF + b"\x00" * (2 * MULTIPART_SLACK))
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "file"
        assert stored_files(settings) == [] and attachment_count(settings) == 0


def test_upload_needs_an_editor(client: TestClient, approver: H) -> None:
    assert client.post("/v1/attachments", files={"file": ("a.png", PNG, "image/png")}).status_code == 401
    assert upload(client, approver, "a.png", PNG, "image/png").status_code == 403


def test_article_with_cover_and_attachments(client: TestClient, editor: H, approver: H) -> None:
    png = upload(client, editor, "bìa.png", PNG, "image/png").json()
    pdf = upload(client, editor, "tài liệu.pdf", PDF).json()
    body = {
        "category": "propaganda",
        "title": "Pa nô tuyên truyền",
        "cover_image": png["id"],
        "attachments": [pdf["id"]],
    }
    bad = client.post("/v1/articles", json={**body, "cover_image": pdf["id"]}, headers=editor)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cover_image"
    article = client.post("/v1/articles", json=body, headers=editor).json()
    client.post(f"/v1/articles/{article['id']}/submit", headers=editor)
    client.post(f"/v1/articles/{article['id']}/publish", headers=approver)
    live = client.get(f"/v1/articles/{article['id']}").json()
    assert live["cover_image_url"] == png["url"]
    assert live["attachments"] == [pdf]


def test_an_attachment_whose_file_was_lost_is_a_404_not_a_500(
    client: TestClient, editor: H, settings: Settings
) -> None:
    """A volume lost or not restored: the row is known, its file is not on the disk."""
    sha256 = upload(client, editor, "mat.pdf", PDF).json()["id"]
    for path in stored_files(settings):
        path.unlink()
    gone = client.get(f"/v1/attachments/{sha256}")
    assert gone.status_code == 404
    assert gone.json()["errors"] == [{"field": "sha256", "message": "file missing"}]
