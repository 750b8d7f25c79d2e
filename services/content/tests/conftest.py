"""Fixtures: a migrated SQLite copy per test, units of work on it (no Redis), a real redis-server,
a real stand-in procedures API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from content.app import create_app
from content.manage import MIGRATIONS
from content.markup import ALLOWED_TAGS
from content.settings import Settings
from content.uow import UnitOfWork
from minhbach_shared.auth import Role
from minhbach_testing.plugin import RedisServer, migrated_sqlite, serving, shared_dir
from minhbach_testing.procedures_api import stand_in_app
from minhbach_testing.tokens import bearer
from minhbach_testing.uow import UnitsOfWork, sqlite_units_of_work

# Bodies an attacker (or a careless paste) might save; none may survive into body_html.
HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src="x" onerror="alert(1)">',
    '<a href="javascript:alert(1)">bấm</a>',
    "[bấm](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    "[x](vbscript:msgbox(1))",
    '<svg onload="alert(1)"><script>alert(1)</script></svg>',
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div style="width: expression(alert(1))">x</div>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<object data="evil.swf"></object><embed src="evil.swf">',
    '<form action="https://evil.example"><button formaction="javascript:alert(1)">x</button></form>',
    "<img src=x onerror=alert(1)//",
    "<<script>script>alert(1)<</script>/script>",
    '<div><p onclick="alert(1)">unclosed <b>bold <i>broken',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<details open ontoggle="alert(1)">x</details>',
    '<a href="#" onmouseover="alert(1)">x</a>',
    "<template><script>alert(1)</script></template>",
    "<!--<img src=x onerror=alert(1)>-->",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
]


LEGAL_DOCUMENTS = shared_dir() / "data" / "legal-documents.json"
KNOWN_PROCEDURES = {code: f"Thủ tục {code}" for code in ("MB.XD.001", "MB.XD.002", "MB.XD.004")}


@pytest.fixture(scope="session")
def procedures_url() -> Iterator[str]:
    """A real HTTP server on a free port, standing in for the procedures service."""
    with serving(stand_in_app(KNOWN_PROCEDURES)) as url:
        yield url


@pytest.fixture
def make_settings(tmp_path: Path, procedures_url: str) -> Callable[..., Settings]:
    def make(redis_url: str, **overrides: Any) -> Settings:
        db_url = migrated_sqlite(tmp_path / "content.db", MIGRATIONS)
        values: dict[str, Any] = {
            "database_url": db_url,
            "redis_url": redis_url,
            "environment": "test",
            "log_json": False,
            "var_dir": tmp_path,
            "attachments_dir": tmp_path / "attachments",
            "procedures_url": procedures_url,
            "procedures_timeout_s": 2.0,
            **overrides,
        }
        return Settings(**values)

    return make


@pytest.fixture
def units(tmp_path: Path) -> Iterator[UnitsOfWork[UnitOfWork]]:
    """Units of work on a migrated SQLite copy, the relay's wake-up recorded: no Redis."""
    with sqlite_units_of_work(UnitOfWork, tmp_path / "units" / "content.db", MIGRATIONS) as units:
        yield units


@pytest.fixture
def settings(make_settings: Callable[..., Settings], redis_server: RedisServer) -> Settings:
    return make_settings(redis_server.url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def token(settings: Settings, subject: str, *roles: Role) -> dict[str, str]:
    return bearer(*roles, subject=subject, service="content")


@pytest.fixture
def editor(settings: Settings) -> dict[str, str]:
    return token(settings, "editor-lan", Role.EDITOR)


@pytest.fixture
def approver(settings: Settings) -> dict[str, str]:
    return token(settings, "approver-minh", Role.APPROVER)


@pytest.fixture
def hotline(settings: Settings) -> dict[str, str]:
    return token(settings, "hotline-ha", Role.HOTLINE)


@pytest.fixture
def legal_documents() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(LEGAL_DOCUMENTS.read_text(encoding="utf-8"))
    return payload


@pytest.fixture
def outbox(settings: Settings) -> Callable[[], list[dict[str, Any]]]:
    """The envelopes written to the outbox so far, oldest first."""

    def read() -> list[dict[str, Any]]:
        engine = create_engine(settings.database_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT envelope FROM outbox ORDER BY seq")).scalars().all()
        engine.dispose()
        return [json.loads(r) for r in rows]

    return read


@pytest.fixture
def make_token(settings: Settings) -> Callable[..., dict[str, str]]:
    return lambda subject, *roles: token(settings, subject, *roles)


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_harmless(html: str) -> None:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.elements:
        assert tag in ALLOWED_TAGS, f"<{tag}> survived in {html!r}"
        for name, value in attrs:
            assert not name.startswith("on") and name != "style", f"{name}= survived in {html!r}"
            if name in ("href", "src"):
                scheme = urlsplit((value or "").strip()).scheme.lower()
                assert scheme in ("", "http", "https", "mailto"), f"{value!r} survived in {html!r}"
    # Nothing executable hides in raw text either: the markup characters are escaped.
    assert not re.search(r"<\s*(script|svg|iframe|style|math)", html, re.I)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "hostile_body" in metafunc.fixturenames:
        metafunc.parametrize("hostile_body", HOSTILE)


@pytest.fixture
def harmless() -> Callable[[str], None]:
    """Asserts that an HTML fragment holds nothing executable."""
    return assert_harmless


@pytest.fixture
def hostile_bodies() -> list[str]:
    return list(HOSTILE)
