"""`make backup` and `make restore` (scripts/backup.py) on a local system's files.

The whole drill (a running system lost and restored) is tests/resilience/test_backup_restore.py;
here: the commands as an operator types them, a restore refused while the system runs (an
API answering, a process holding a database open) unless forced, and copies taken while a
writer commits that are each a consistent state of it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minhbach_testing.plugin import REPO_ROOT, free_port, migrated_sqlite, serving

SERVICES = ("notifier", "procedures", "content", "hotline", "console")


def make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def local(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A local system's files (five migrated databases with a probe row each, an attachment,
    pages) and the environment that points the services, and so the tool, at them."""
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
    var = tmp_path / "var"
    env = {
        "MB_VAR_DIR": str(var),
        # Nothing listens on these: the tool must not find a `make up` of this machine's.
        "MB_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "CONTENT_ATTACHMENTS_DIR": str(var / "attachments"),
        "NOTIFIER_PORTAL_DIR": str(var / "portal"),
        "NOTIFIER_CENTER_DIR": str(var / "center"),
    }
    for service in SERVICES:
        env[f"{service.upper()}_DATABASE_URL"] = migrated_sqlite(var / f"{service}.db", migrations[service])
        env[f"{service.upper()}_PORT"] = str(free_port())
        with sqlite3.connect(var / f"{service}.db") as db:
            db.execute("CREATE TABLE probe (what TEXT)")
            db.execute("INSERT INTO probe VALUES ('at backup time')")
        db.close()
    picture = var / "attachments" / "ab" / ("ab" + "0" * 62)
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"\x89PNG\r\n\x1a\n a picture")
    (var / "portal").mkdir()
    (var / "portal" / "index.html").write_text("a page")
    yield {"env": env, "var": var, "backups": tmp_path / "backups", "picture": picture}


def probes(var: Path) -> dict[str, list[str]]:
    found = {}
    for service in SERVICES:
        db = sqlite3.connect(var / f"{service}.db")
        found[service] = [row[0] for row in db.execute("SELECT what FROM probe ORDER BY what")]
        db.close()
    return found


def test_make_restore_without_a_backup_says_what_to_give() -> None:
    done = make("restore", env={})
    assert done.returncode == 2
    assert "make restore needs BACKUP=<a backup directory>" in done.stderr
    assert "make restore BACKUP=backups/" in done.stderr


def test_make_backup_and_restore_refused_while_the_system_runs(local: dict[str, Any]) -> None:
    env, var = local["env"], local["var"]
    made = make("backup", f"BACKUP_DIR={local['backups']}", env=env)
    assert made.returncode == 0, made.stderr
    (backup,) = list(local["backups"].iterdir())
    assert f"backup: {backup} (5 databases, 1 attachment" in made.stdout
    at_backup = probes(var)
    for service in SERVICES:
        with sqlite3.connect(var / f"{service}.db") as db:
            db.execute("INSERT INTO probe VALUES ('after the backup')")
        db.close()
    local["picture"].unlink()

    # A process holding a database open (a worker, say): refused, saying what to do.
    held = sqlite3.connect(var / "hotline.db")
    held.execute("SELECT count(*) FROM probe").fetchone()
    try:
        refused = make("restore", f"BACKUP={backup}", env=env)
    finally:
        held.close()
    assert refused.returncode != 0
    assert f"process {os.getpid()}" in refused.stderr and "has the hotline database open" in refused.stderr
    assert "stop it first" in refused.stderr and "FORCE=1" in refused.stderr
    assert "after the backup" in probes(var)["hotline"]

    # An API answering on its port: refused too; FORCE=1 restores anyway.
    from fastapi import FastAPI

    api = FastAPI()
    api.get("/healthz")(lambda: {"status": "ok"})
    with serving(api) as url:
        env = {**env, "CONTENT_PORT": url.rsplit(":", 1)[1]}
        refused = make("restore", f"BACKUP={backup}", env=env)
        assert refused.returncode != 0
        assert f"content answers on 127.0.0.1:{env['CONTENT_PORT']}" in refused.stderr
        forced = make("restore", f"BACKUP={backup}", "FORCE=1", env=env)
    assert forced.returncode == 0, forced.stderr
    assert "forced while the system runs" in forced.stdout
    assert probes(var) == at_backup
    assert local["picture"].read_bytes() == b"\x89PNG\r\n\x1a\n a picture"
    assert list((var / "portal").iterdir()) == [], "the notifier writes the pages again"


def test_a_damaged_backup_is_not_restored(local: dict[str, Any]) -> None:
    env, var = local["env"], local["var"]
    assert make("backup", f"BACKUP_DIR={local['backups']}", env=env).returncode == 0
    (backup,) = list(local["backups"].iterdir())
    (backup / "attachments.tar").write_bytes(b"")
    (backup / "databases" / "console.sqlite").unlink()
    with sqlite3.connect(var / "console.db") as db:
        db.execute("INSERT INTO probe VALUES ('after the backup')")
    db.close()
    refused = make("restore", f"BACKUP={backup}", env=env)
    assert refused.returncode != 0
    assert "does not match its manifest, so it is not restored" in refused.stderr
    assert "databases/console.sqlite is missing" in refused.stderr
    assert "attachments.tar has 0 bytes" in refused.stderr
    assert "after the backup" in probes(var)["console"]


WRITER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS pairs (n INTEGER)")
print("ready", flush=True)
n = 0
while True:
    n += 1
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO pairs VALUES (?)", [(n,), (n,)])
    db.execute("COMMIT")
"""


def test_copies_taken_while_a_writer_commits_are_each_a_whole_state(local: dict[str, Any]) -> None:
    """Each transaction writes two rows: a copy of a live database holds an even number of
    them, and SQLite's integrity check passes on it."""
    env, var = local["env"], local["var"]
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(var / "procedures.db")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout and writer.stdout.readline().strip() == "ready"
        counts = []
        for _ in range(3):
            done = subprocess.run(
                [sys.executable, "scripts/backup.py", "create", "--dest", str(local["backups"])],
                cwd=REPO_ROOT,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            made = Path(done.stdout.split()[1])
            copy = sqlite3.connect(made / "databases" / "procedures.sqlite")
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            (count,) = copy.execute("SELECT count(*) FROM pairs").fetchone()
            copy.close()
            assert count % 2 == 0, count
            counts.append(count)
            time.sleep(1)  # one backup per second
    finally:
        writer.kill()
        writer.wait()
    assert counts[0] > 0 and counts == sorted(counts) and len(set(counts)) == 3, counts
