"""The kiosks' live stream cannot be used to stop the system (issue 12): every open stream
shares one Redis reader, so a thousand streams cost Redis no more connections than one;
and a process holding its most streams answers 503 with Retry-After. Against a real
server (uvicorn) and a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from minhbach_testing.plugin import RedisServer, serving, wait_until
from notifier.app import create_app
from notifier.settings import Settings


def board(settings: Settings, stamp: str) -> None:
    settings.center_dir.mkdir(parents=True, exist_ok=True)
    (settings.center_dir / "board.json").write_text(json.dumps({"stamp": stamp}))


def redis_clients(redis_server: RedisServer) -> int:
    return len(redis_server.client().client_list())


def test_a_hundred_open_streams_cost_redis_no_more_connections_than_one(
    settings: Settings, redis_server: RedisServer
) -> None:
    board(settings, "s1")

    async def open_streams(url: str, n: int) -> tuple[int, int, list[str]]:
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(
                httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=n + 5))
            )
            streams = [
                await stack.enter_async_context(client.stream("GET", f"{url}/center/stream"))
                for _ in range(n)
            ]
            lines = [s.aiter_lines() for s in streams]  # kept: dropping one closes its stream
            firsts = [await anext(it) for it in lines]
            assert set(firsts) == {"event: board"}
            await asyncio.sleep(0.5)
            with_many = await asyncio.to_thread(redis_clients, redis_server)
            # A change reaches every one of them.
            board(settings, "s2")
            await asyncio.to_thread(redis_server.client().xadd, "mb:center:board", {"stamp": "s2"})

            async def next_stamp(it: Any) -> str:
                async for line in it:
                    if line.startswith("data:") and "s2" in line:
                        return line
                return ""

            woken = await asyncio.wait_for(asyncio.gather(*(next_stamp(it) for it in lines)), 10)
            return len(streams), with_many, woken

    with serving(create_app(settings)) as url:
        one = asyncio.run(open_streams(url, 1))[1]
        n, with_many, woken = asyncio.run(open_streams(url, 100))
    assert n == 100 and all("s2" in w for w in woken)
    assert with_many <= one + 1, (one, with_many)  # one shared reader, not one per kiosk


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    board(settings, "s1")
    with serving(create_app(settings.model_copy(update={"max_streams": 2}))) as url:
        yield url


def test_past_its_most_streams_a_process_answers_503_with_retry_after(served: str) -> None:
    with contextlib.ExitStack() as open_streams:
        lines = []  # each stream's line iterator, kept: dropping one closes its stream
        for _ in range(2):
            client = open_streams.enter_context(httpx.Client(timeout=10))
            stream = open_streams.enter_context(client.stream("GET", f"{served}/center/stream"))
            assert stream.status_code == 200
            lines.append(stream.iter_lines())
            assert next(lines[-1]) == "event: board" and "s1" in next(lines[-1])
        refused = httpx.get(f"{served}/center/stream", timeout=10)
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
    # The kiosks went away: there is room again.
    wait_until(lambda: _opens(served), timeout=10, message="a stream admitted again")


def _opens(url: str) -> bool:
    with httpx.Client(timeout=10) as client, client.stream("GET", f"{url}/center/stream") as stream:
        return stream.status_code == 200
