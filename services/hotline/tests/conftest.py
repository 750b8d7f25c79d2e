"""Fixtures: a migrated SQLite copy per test, units of work on it (no Redis), a real redis-server,
a real procedures stand-in, tokens."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from hotline.app import create_app
from hotline.manage import MIGRATIONS
from hotline.settings import Settings
from hotline.uow import UnitOfWork
from minhbach_shared.auth import Role
from minhbach_testing.plugin import RedisServer, migrated_sqlite, serving
from minhbach_testing.procedures_api import stand_in_app
from minhbach_testing.tokens import bearer
from minhbach_testing.uow import UnitsOfWork, sqlite_units_of_work

KNOWN_PROCEDURES = {"MB.XD.001": "Cấp giấy phép xây dựng", "MB.XD.002": "Cấp chứng chỉ hành nghề"}


@pytest.fixture(scope="session")
def procedures_url() -> Iterator[str]:
    """A real HTTP server standing in for the procedures API."""
    with serving(stand_in_app(KNOWN_PROCEDURES)) as url:
        yield url


@pytest.fixture
def make_settings(tmp_path: Path, procedures_url: str) -> Callable[..., Settings]:
    def make(redis_url: str, **overrides: Any) -> Settings:
        db_url = migrated_sqlite(tmp_path / "hotline.db", MIGRATIONS)
        values: dict[str, Any] = {
            "database_url": db_url,
            "redis_url": redis_url,
            "environment": "test",
            "log_json": False,
            "var_dir": tmp_path,
            "procedures_url": procedures_url,
            "procedures_timeout_s": 2.0,
            "public_rate_limit": 50,
            "lookup_rate_limit": 1000,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def units(tmp_path: Path) -> Iterator[UnitsOfWork[UnitOfWork]]:
    """Units of work on a migrated SQLite copy, the relay's wake-up recorded: no Redis."""
    with sqlite_units_of_work(UnitOfWork, tmp_path / "units" / "hotline.db", MIGRATIONS) as units:
        yield units


@pytest.fixture
def settings(make_settings: Callable[..., Settings], redis_server: RedisServer) -> Settings:
    return make_settings(redis_server.url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def token(settings: Settings, *roles: Role, subject: str = "test") -> dict[str, str]:
    return bearer(*roles, subject=subject, service="hotline")


@pytest.fixture
def hotline(settings: Settings) -> dict[str, str]:
    return token(settings, Role.HOTLINE, subject="officer-lan")


@pytest.fixture
def approver(settings: Settings) -> dict[str, str]:
    return token(settings, Role.APPROVER, subject="leader-minh")


@pytest.fixture
def editor(settings: Settings) -> dict[str, str]:
    return token(settings, Role.EDITOR)


def outbox_envelopes(settings: Settings) -> list[dict[str, Any]]:
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT envelope FROM outbox ORDER BY seq")).scalars().all()
    engine.dispose()
    return [json.loads(r) for r in rows]


def ticket_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "phan_anh",
        "subject": "Thời gian cấp giấy phép xây dựng quá lâu",
        "body": "Hồ sơ xin giấy phép xây dựng nhà ở của tôi nộp đã 30 ngày chưa có kết quả.",
        "procedure_code": "MB.XD.001",
        "name": "Trần Thị Bình",
        "phone": "0912 345 678",
        "email": "binh.tran@example.vn",
        "address": "Số 12 ngõ 34 phố Lê Lợi, TP Thái Bình",
        "consent_to_publish": True,
    }
    body.update(overrides)
    return body
