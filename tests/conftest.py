"""Fixtures for tests that no single service can prove: the running system."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from minhbach_shared.testing import RedisServer, free_port, shared_dir
from tests.harness import System

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def today_in_vietnam() -> str:
    return datetime.now(VIETNAM).date().isoformat()


@pytest.fixture(scope="session")
def sample_procedures() -> list[dict[str, Any]]:
    path = shared_dir() / "data" / "procedures-sample.json"
    return json.loads(path.read_text(encoding="utf-8"))["procedures"]


@pytest.fixture
def procedure_like(sample_procedures: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """A complete procedure shaped like the sample, under a new code and name."""

    def make(code: str, name: str | None = None, base: int = 0) -> dict[str, Any]:
        body = copy.deepcopy(sample_procedures[base % len(sample_procedures)])
        body["code"] = code
        if name:
            body["name"] = name
        return body

    return make


def _start_system(root: Path, **overrides: str) -> tuple[RedisServer, System]:
    redis = RedisServer(port=free_port(), dir=root / "redis")
    redis.start()
    system = System(root=root, redis=redis, overrides=overrides)
    try:
        system.start()
    except Exception:
        system.stop()
        redis.stop()
        raise
    return redis, system


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """One running system shared by a module's tests (each test uses its own codes)."""
    redis, running = _start_system(tmp_path_factory.mktemp("system"))
    yield running
    running.stop()
    redis.stop()


@pytest.fixture
def fresh_system(tmp_path: Path) -> Iterator[System]:
    """A system of its own, for tests that kill parts of it."""
    redis, running = _start_system(tmp_path)
    yield running
    running.stop()
    redis.stop()
