"""How much of a request's body an app read: the guard tests' witness (minhbach_shared.guard)."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit


class BodyReadCounter:
    """Wraps an ASGI app; `read` is how many body bytes the app pulled from the client."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.read = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


def chunks(total: int, size: int = 16 * 1024, fill: bytes = b"x") -> Iterator[bytes]:
    """`total` bytes in chunks of `size`: sent chunked, with no Content-Length."""
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield fill * n
        sent += n


def post_streamed(base_url: str, path: str, headers: dict[str, str], parts: Iterable[bytes]) -> int:
    """POST `parts` chunked (no Content-Length) over a plain socket, stopping once the server
    has answered or closed; the answer's status code. (httpx would send the whole body
    before reading an early answer; a server that stops reading is what is tested here.)"""
    url = urlsplit(base_url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nTransfer-Encoding: chunked\r\n{head}\r\n".encode()
        )
        finished = True
        for part in parts:
            try:
                sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            except OSError:  # closed, or no longer read (a full buffer times out)
                finished = False
                break
            if select.select([sock], [], [], 0)[0]:  # answered already
                finished = False
                break
        if finished:
            sock.sendall(b"0\r\n\r\n")
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    return int(answer.split(b" ", 2)[1])
