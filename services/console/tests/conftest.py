"""Fixtures: the console in-process on a migrated SQLite copy, signing with this test
process's key; accounts made as `make user` makes them; a helper that signs in as a
browser would (the sign-in page's token, then the form)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from console import accounts
from console.app import create_app
from console.manage import MIGRATIONS
from console.settings import Settings
from minhbach_shared.db import make_engine
from minhbach_testing.plugin import migrated_sqlite
from minhbach_testing.tokens import signing_key

PASSWORD = "mật-khẩu-thử-2026"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": migrated_sqlite(tmp_path / "console.db", MIGRATIONS),
            "signing_key_file": signing_key().private_pem,
            "environment": "test",
            "log_json": False,
            "failure_delay_step_s": 0.0,
            # Nothing listens here: pages that read an owner say it is unreachable.
            "procedures_url": "http://127.0.0.1:9",
            "content_url": "http://127.0.0.1:9",
            "hotline_url": "http://127.0.0.1:9",
            "notifier_url": "http://127.0.0.1:9",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def engine(settings: Settings) -> Any:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def add_account(engine: Any) -> Callable[..., accounts.Account]:
    def add(
        username: str, *roles: str, name: str | None = None, password: str = PASSWORD
    ) -> accounts.Account:
        return accounts.add_user(
            engine,
            username=username,
            display_name=name or username.title(),
            password=password,
            roles=list(roles),
            now=datetime.now(UTC),
        )

    return add


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


@pytest.fixture
def new_client(settings: Settings) -> Iterator[Callable[[], TestClient]]:
    """Another browser: its own cookies, the same console."""
    app = create_app(settings)
    made: list[TestClient] = []

    def make() -> TestClient:
        c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name} on the page"
    return found.group(1)


def sign_in(
    client: TestClient, username: str, password: str = PASSWORD, *, next_path: str = ""
) -> httpx.Response:
    page = client.get("/console/sign-in", params={"next": next_path} if next_path else None)
    return client.post(
        "/console/sign-in",
        data={
            "username": username,
            "password": password,
            "signin_token": hidden(page.text, "signin_token"),
            "next": hidden(page.text, "next"),
        },
    )


def csrf_of(client: TestClient, path: str = "/console/") -> str:
    return hidden(client.get(path).text, "csrf_token")
