"""deploy/backup/backup.sh, the docker compose backup and restore, on a real PostgreSQL.

The compose services run it in the postgres image; here it runs with the test cluster's
own pg_dump, pg_restore and psql, on the five service databases migrated as compose
migrates them. A backup is checked with scripts/backup.py's own `verify` (one format for
both), refused when a file does not match its manifest or while services are connected,
and restored: the rows of the backup's time back, later ones gone, the attachments back
byte for byte, the volumes the system rebuilds emptied.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest

from minhbach_shared.db import migrate
from minhbach_testing.plugin import REPO_ROOT, PostgresServer, postgres_bin_dir

SCRIPT = REPO_ROOT / "deploy" / "backup" / "backup.sh"
DATABASES = ("notifier", "procedures", "content", "hotline", "console")


def backup_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mb_backup_script", REPO_ROOT / "scripts" / "backup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def connect(server: PostgresServer, database: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1",
        port=server.port,
        user=server.user,
        password=server.password,
        dbname=database,
        autocommit=True,
    )


@pytest.fixture
def deployment(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The five databases (migrated, with a probe row each) and the volumes, as directories."""
    import console.manage
    import content.manage
    import hotline.manage
    import notifier.manage
    import procedures.manage

    migrations = {
        "notifier": notifier.manage.MIGRATIONS,
        "procedures": procedures.manage.MIGRATIONS,
        "content": content.manage.MIGRATIONS,
        "hotline": hotline.manage.MIGRATIONS,
        "console": console.manage.MIGRATIONS,
    }
    with connect(postgres_server, "postgres") as admin:
        for db in DATABASES:
            admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            admin.execute(f"CREATE DATABASE \"{db}\" ENCODING 'UTF8' TEMPLATE template0")
    for db in DATABASES:
        migrate(postgres_server.url(db), migrations[db])
        with connect(postgres_server, db) as conn:
            conn.execute("CREATE TABLE probe (what text)")
            conn.execute("INSERT INTO probe VALUES (%s)", (f"{db} at backup time",))
    volumes = {name: tmp_path / name for name in ("backups", "attachments", "portal", "center", "redis-data")}
    for directory in volumes.values():
        directory.mkdir()
    picture = volumes["attachments"] / "ab" / ("ab" + "0" * 62)
    picture.parent.mkdir()
    picture.write_bytes(b"\x89PNG\r\n\x1a\n a picture")
    env = {
        **os.environ,
        "PATH": f"{postgres_bin_dir()}:{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres_server.port),
        "PGUSER": postgres_server.user,
        "PGPASSWORD": postgres_server.password,
        "PGDATABASE": "postgres",
        "MB_BACKUPS": str(volumes["backups"]),
        "MB_ATTACHMENTS": str(volumes["attachments"]),
        "MB_REBUILT": " ".join(str(volumes[v]) for v in ("portal", "center", "redis-data")),
    }
    yield {"server": postgres_server, "volumes": volumes, "env": env, "picture": picture}
    with connect(postgres_server, "postgres") as admin:
        for db in DATABASES:
            admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def probes(server: PostgresServer) -> dict[str, list[str]]:
    found = {}
    for db in DATABASES:
        with connect(server, db) as conn:
            found[db] = [row[0] for row in conn.execute("SELECT what FROM probe ORDER BY what")]
    return found


def test_a_compose_backup_restores_every_database_and_the_attachments(deployment: dict[str, Any]) -> None:
    server, volumes, env = deployment["server"], deployment["volumes"], deployment["env"]
    made = run(env, "create")
    assert made.returncode == 0, made.stderr
    (backup,) = [p for p in volumes["backups"].iterdir()]
    assert backup.name.endswith("Z") and not backup.name.startswith(".")
    manifest = backup_module().verify(backup)  # the local tool reads the same format
    assert manifest["engine"] == "postgresql"
    assert manifest["attachments"] == {"path": "attachments.tar", "count": 1}
    assert manifest["databases"] == {db: f"databases/{db}.pgdump" for db in DATABASES}
    assert json.loads((backup / "manifest.json").read_text())["created_at"].endswith("Z")
    at_backup = probes(server)

    # After the backup: more rows, a table gone, an attachment lost, pages and Redis of that time.
    for db in DATABASES:
        with connect(server, db) as conn:
            conn.execute("INSERT INTO probe VALUES ('written after the backup')")
    with connect(server, "procedures") as conn:
        conn.execute("DROP TABLE procedures CASCADE")
    deployment["picture"].unlink()
    for name in ("portal", "center", "redis-data"):
        (volumes[name] / "later.html").write_text("a page of the time after the backup")

    # While a service is connected: refused, with what to do, and nothing touched.
    with connect(server, "hotline"):
        refused = run(env, "restore", backup.name)
    assert refused.returncode == 1
    assert "the system is running" in refused.stderr and "docker compose stop" in refused.stderr
    assert "--force" in refused.stderr
    assert "written after the backup" in probes(server)["hotline"]

    restored = run(env, "restore", f"backups/{backup.name}")
    assert restored.returncode == 0, restored.stderr
    assert probes(server) == at_backup
    with connect(server, "procedures") as conn:
        assert conn.execute("SELECT count(*) FROM procedures").fetchone() == (0,)
        # The search's trigram extension comes back with the tables that use it.
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'").fetchone() == (1,)
    assert deployment["picture"].read_bytes() == b"\x89PNG\r\n\x1a\n a picture"
    for name in ("portal", "center", "redis-data"):
        assert volumes[name].is_dir() and not list(volumes[name].iterdir()), name


def test_a_backup_that_does_not_match_its_manifest_is_not_restored(deployment: dict[str, Any]) -> None:
    server, volumes, env = deployment["server"], deployment["volumes"], deployment["env"]
    assert run(env, "create").returncode == 0
    (backup,) = list(volumes["backups"].iterdir())
    damaged = backup / "databases" / "content.pgdump"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte, the size unchanged
    damaged.write_bytes(bytes(data))
    with connect(server, "content") as conn:
        conn.execute("INSERT INTO probe VALUES ('written after the backup')")

    refused = run(env, "restore", backup.name)
    assert refused.returncode == 1
    assert "does not match its manifest" in refused.stderr and "content.pgdump" in refused.stderr
    assert "written after the backup" in probes(server)["content"]  # nothing was touched
    tool = backup_module()
    with pytest.raises(tool.BackupError, match=r"content\.pgdump does not match its SHA-256"):
        tool.verify(backup)

    missing = run(env, "restore")
    assert missing.returncode == 1 and backup.name in missing.stderr  # names the backups there are
