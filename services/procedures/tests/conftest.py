"""Fixtures: a migrated SQLite copy per test, units of work on it (no Redis), a real redis-server,
the app, tokens, sample data."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from minhbach_shared.auth import Role
from minhbach_testing.plugin import RedisServer, migrated_sqlite, shared_dir
from minhbach_testing.tokens import bearer
from minhbach_testing.uow import UnitsOfWork, sqlite_units_of_work
from procedures.app import create_app
from procedures.manage import MIGRATIONS
from procedures.settings import Settings
from procedures.uow import UnitOfWork

DATA = shared_dir() / "data"
SAMPLE_PATH = DATA / "procedures-sample.json"


@pytest.fixture(scope="session")
def sample_payload() -> dict[str, Any]:
    return json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def sample(sample_payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Sample procedures by code (fresh copies, safe to change)."""
    return {p["code"]: copy.deepcopy(p) for p in sample_payload["procedures"]}


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[[str], Settings]:
    def make(redis_url: str) -> Settings:
        db_url = migrated_sqlite(tmp_path / "procedures.db", MIGRATIONS)
        return Settings(
            database_url=db_url, redis_url=redis_url, environment="test", log_json=False, var_dir=tmp_path
        )

    return make


@pytest.fixture
def units(tmp_path: Path) -> Iterator[UnitsOfWork[UnitOfWork]]:
    """Units of work on a migrated SQLite copy, the relay's wake-up recorded: no Redis."""
    with sqlite_units_of_work(UnitOfWork, tmp_path / "units" / "procedures.db", MIGRATIONS) as units:
        yield units


@pytest.fixture
def settings(make_settings: Callable[[str], Settings], redis_server: RedisServer) -> Settings:
    return make_settings(redis_server.url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def _token(settings: Settings, *roles: Role) -> dict[str, str]:
    return bearer(*roles, subject=f"test-{roles[0].value}", service="procedures")


@pytest.fixture
def editor(settings: Settings) -> dict[str, str]:
    return _token(settings, Role.EDITOR)


@pytest.fixture
def approver(settings: Settings) -> dict[str, str]:
    return _token(settings, Role.APPROVER)


@pytest.fixture
def hotline(settings: Settings) -> dict[str, str]:
    return _token(settings, Role.HOTLINE)
