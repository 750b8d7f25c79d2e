"""Backup and restore of the local system's state (`make backup`, `make restore`).

    python scripts/backup.py create --dest backups        # backups/<UTC time>/, while the system runs
    python scripts/backup.py verify backups/20261205T101500Z
    python scripts/backup.py restore backups/20261205T101500Z [--force]

A backup is one directory named by its UTC time, holding what the system cannot rebuild:

    databases/<service>.sqlite  every service's database, copied with SQLite's online backup
                                API, so each copy is consistent while the system runs; the
                                console's holds the staff accounts (and their sessions)
    attachments.tar             the content service's uploaded files (pictures, PDFs)
    manifest.json               created_at, what it holds, and each file's size and SHA-256

Not in it, because the system rebuilds them from the databases: the portal and centre
directories (the notifier's worker reconciles when it starts and writes every page
again) and Redis (queues and wake-ups; every owner's outbox is in its database, and
reconciliation finds whatever a lost message carried). Nor the console's signing key: a
console without one makes a new one, and only the tokens already out (15 minutes at
most) stop working; sessions are rows in its database and carry on.

The databases are copied notifier first, then the owners: the notifier's record of what
each channel shows is then never ahead of the owners', and reconciliation after a restore
only ever catches up. Attachments come last: a file is stored before the row naming it.

Where each database and directory is comes from the services' own settings, read from the
same environment (`PROCEDURES_DATABASE_URL`, `CONTENT_ATTACHMENTS_DIR`, ...; unset, `var/`),
so this finds what `make up` uses. docker compose (PostgreSQL) writes the same format with
`pg_dump -Fc` files: deploy/backup/backup.sh.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy.engine import make_url

FORMAT = "minhbach-backup/1"
MANIFEST = "manifest.json"
ATTACHMENTS = "attachments.tar"
# Every service's database, in the order they are copied (see the module's docstring).
# deploy/backup/backup.sh copies the same (tests/compose checks they agree).
SERVICES = ("notifier", "procedures", "content", "hotline", "console")
# Each API's port, as the Procfile reads it: a restore refuses while one answers.
PORTS = {
    "procedures": ("PROCEDURES_PORT", 8001),
    "content": ("CONTENT_PORT", 8002),
    "hotline": ("HOTLINE_PORT", 8003),
    "notifier": ("NOTIFIER_PORT", 8004),
    "console": ("CONSOLE_PORT", 8005),
}
NOT_INCLUDED = {
    "portal": "rebuilt by the notifier from the databases (reconcile at start)",
    "center": "rebuilt by the notifier from the databases (reconcile at start)",
    "redis": "queues and wake-ups only: the outboxes are in the databases, reconcile finds the rest",
    "console signing key": "a new one is made at start; sessions carry on, tokens out (15 min) end",
}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """What went wrong, in a sentence for the operator (printed, exit status 1)."""


@dataclass(frozen=True)
class Places:
    """Where the system keeps its state, from the services' own settings."""

    databases: dict[str, str]  # service -> SQLAlchemy URL
    attachments: Path
    portal: Path
    center: Path
    var_dir: Path
    redis_url: str

    @classmethod
    def from_environment(cls) -> Places:
        from console.settings import Settings as ConsoleSettings
        from content.settings import Settings as ContentSettings
        from hotline.settings import Settings as HotlineSettings
        from notifier.settings import Settings as NotifierSettings
        from procedures.settings import Settings as ProceduresSettings

        content = ContentSettings()
        notifier = NotifierSettings()
        urls = {
            "notifier": notifier.database_url,
            "procedures": ProceduresSettings().database_url,
            "content": content.database_url,
            "hotline": HotlineSettings().database_url,
            "console": ConsoleSettings().database_url,
        }
        return cls(
            databases={name: urls[name] for name in SERVICES},
            attachments=content.attachments_dir,
            portal=notifier.portal_dir,
            center=notifier.center_dir,
            var_dir=notifier.var_dir,
            redis_url=notifier.redis_url,
        )

    def sqlite_file(self, service: str) -> Path:
        url = make_url(self.databases[service])
        if url.get_backend_name() != "sqlite" or not url.database:
            raise BackupError(
                f"the {service} database is {url.get_backend_name()}, not a SQLite file: this tool backs "
                "up the local system; for docker compose (PostgreSQL) use "
                "`docker compose --profile backup run --rm backup` (deploy/backup/backup.sh)"
            )
        return Path(url.database)


# --- files and checksums ------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """JSON, with one line per file, `{"path": ..., "bytes": ..., "sha256": ...}`, the layout
    deploy/backup/backup.sh writes and reads with sed."""
    head = {k: v for k, v in manifest.items() if k != "files"}
    lines = [json.dumps(head, indent=2, ensure_ascii=False)[:-2] + ","]
    entries = [f"    {json.dumps(entry, ensure_ascii=False)}" for entry in manifest["files"]]
    lines.append('  "files": [\n' + ",\n".join(entries) + "\n  ]\n}\n")
    path.write_text("\n".join(lines), encoding="utf-8")


# --- create -------------------------------------------------------------------------------


def snapshot_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live database: the backup API reads it in one step, under a
    read transaction, while the services go on writing (WAL); the copy is one file."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist: is the system migrated (make migrate)?")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # self-contained: no -wal beside it
        (check,) = dst.execute("PRAGMA quick_check").fetchone()
        if check != "ok":
            raise BackupError(f"the copy of {source} fails SQLite's check: {check}")
    finally:
        dst.close()
        src.close()


def attachment_files(root: Path) -> Iterator[Path]:
    """The stored files (`ab/abcd...`), without an upload still being written (`.upload-*`)."""
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith(".upload-"):
                yield path


def tar_attachments(root: Path, target: Path) -> int:
    count = 0
    with tarfile.open(target, "w") as tar:
        for path in attachment_files(root):
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
            count += 1
    return count


def create(dest: Path, places: Places, *, now: datetime | None = None) -> Path:
    """Write a backup under `dest`, named by its UTC time; its directory."""
    started = now or datetime.now(UTC)
    name = started.strftime("%Y%m%dT%H%M%SZ")
    final = dest / name
    if final.exists():
        raise BackupError(f"{final} already exists (one backup per second): try again")
    files = {service: places.sqlite_file(service) for service in SERVICES}
    partial = dest / f".{name}.partial"  # never mistaken for a whole backup
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "databases").mkdir(parents=True)
    try:
        for service in SERVICES:
            snapshot_sqlite(files[service], partial / "databases" / f"{service}.sqlite")
        count = tar_attachments(places.attachments, partial / ATTACHMENTS)
        entries = []
        for path in sorted(p for p in partial.rglob("*") if p.is_file()):
            relative = str(path.relative_to(partial))
            entries.append({"path": relative, "bytes": path.stat().st_size, "sha256": sha256_of(path)})
        write_manifest(
            partial / MANIFEST,
            {
                "format": FORMAT,
                "created_at": started.isoformat().replace("+00:00", "Z"),
                "engine": "sqlite",
                "databases": {s: f"databases/{s}.sqlite" for s in SERVICES},
                "attachments": {"path": ATTACHMENTS, "count": count},
                "accounts": "the console's staff accounts are in databases/console.sqlite",
                "not_included": NOT_INCLUDED,
                "files": entries,
            },
        )
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


# --- verify -------------------------------------------------------------------------------


def verify(source: Path) -> dict[str, Any]:
    """The backup's manifest, after checking every file it lists (size and SHA-256) and that
    it lists every service's database and the attachments; BackupError naming what is wrong."""
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{source} is not a backup: it has no {MANIFEST}")
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BackupError(f"{manifest_path} is not valid JSON ({exc}): the backup is damaged") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{manifest_path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    problems = []
    listed = {entry["path"]: entry for entry in manifest.get("files", [])}
    for relative, entry in listed.items():
        path = source / relative
        if not path.is_file():
            problems.append(f"{relative} is missing")
        elif path.stat().st_size != entry["bytes"]:
            problems.append(f"{relative} has {path.stat().st_size} bytes, the manifest says {entry['bytes']}")
        elif sha256_of(path) != entry["sha256"]:
            problems.append(f"{relative} does not match its SHA-256 in the manifest")
    databases = manifest.get("databases", {})
    for service in SERVICES:
        if databases.get(service) not in listed:
            problems.append(f"no database of {service} in the manifest")
    if manifest.get("attachments", {}).get("path") not in listed:
        problems.append("no attachments in the manifest")
    if problems:
        raise BackupError(
            f"{source} does not match its manifest, so it is not restored: " + "; ".join(problems)
        )
    return manifest


# --- restore ------------------------------------------------------------------------------


def running_parts(places: Places) -> list[str]:
    """What shows the system is up: an API answering on its port, a process holding a database open."""
    found = []
    for service, (variable, default) in PORTS.items():
        port = os.environ.get(variable) or str(default)
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                found.append(f"{service} answers on 127.0.0.1:{port}")
        except httpx.HTTPError:
            pass
    databases = {}
    for service in SERVICES:
        path = places.sqlite_file(service).resolve()
        for suffix in ("", "-wal"):
            databases[f"{path}{suffix}"] = f"the {service} database"
    for pid, opened in open_files():
        if opened in databases and pid != os.getpid():
            found.append(f"process {pid} ({process_name(pid)}) has {databases[opened]} open")
    return sorted(set(found))


def open_files() -> Iterator[tuple[int, str]]:
    """(pid, path) of every file the processes we may look at hold open (Linux /proc)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                yield int(entry.name), os.readlink(fd)
        except OSError:  # gone, or another user's
            continue


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def replace_database(backup_file: Path, target: Path) -> None:
    """Put the copy in place of the database in one rename, with no stale -wal or -shm beside it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(backup_file, incoming)
    with incoming.open("rb") as f:
        os.fsync(f.fileno())
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(incoming, target)


def replace_attachments(archive: Path, root: Path) -> int:
    incoming = root.with_name(f".{root.name}.restoring")
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(incoming, filter="data")  # no absolute paths, no escaping links
    count = sum(1 for p in incoming.rglob("*") if p.is_file())
    if root.exists():
        shutil.rmtree(root)
    incoming.rename(root)
    return count


def empty(directory: Path) -> None:
    """Remove what is in `directory`, keeping the directory (it may be a mount point)."""
    if not directory.is_dir():
        return
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def empty_redis(places: Places) -> str:
    """Drop the queues of a past that the restored databases no longer hold."""
    client = redis.Redis.from_url(places.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.flushdb()
        return f"emptied {places.redis_url}"
    except redis.RedisError:
        # make up's redis-server, stopped with the rest: its append-only file is in the var dir.
        stale = [places.var_dir / name for name in ("appendonlydir", "appendonly.aof", "dump.rdb")]
        for path in stale:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        return f"not running; its files under {places.var_dir} removed, so it starts empty"
    finally:
        client.close()


def restore(
    source: Path, places: Places, *, force: bool = False, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Put a backup in place of the system's state; the manifest."""
    manifest = verify(source)
    if manifest.get("engine") != "sqlite":
        raise BackupError(
            f"{source} holds {manifest.get('engine')} dumps (docker compose): restore it with "
            "`docker compose --profile restore run --rm restore <name>` (deploy/backup/backup.sh)"
        )
    say(f"restore: {len(manifest['files'])} files match the manifest of {manifest['created_at']}")
    targets = {service: places.sqlite_file(service) for service in SERVICES}
    running = running_parts(places)
    if running:
        if not force:
            raise BackupError(
                "the system is running ("
                + "; ".join(running)
                + "): stop it first (Ctrl-C where `make up` runs, or stop those processes), then "
                "restore again. To restore over it anyway, which its processes will not notice, "
                "add --force (make restore ... FORCE=1)"
            )
        say(f"restore: forced while the system runs ({'; '.join(running)})")
    for service in SERVICES:
        replace_database(source / manifest["databases"][service], targets[service])
        say(f"restore: {service:<10} -> {targets[service]}")
    count = replace_attachments(source / manifest["attachments"]["path"], places.attachments)
    say(f"restore: attachments -> {places.attachments} ({plural(count, 'file')})")
    for directory in (places.portal, places.center):
        empty(directory)
    say(f"restore: emptied {places.portal} and {places.center}: the notifier writes them again at start")
    say(f"restore: Redis {empty_redis(places)}")
    say("restore: done. Start the system (make up); it migrates, and the notifier rebuilds every page.")
    return manifest


# --- the command line ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/backup.py",
        description="Back up and restore the local system (make backup, make restore).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("create", help="write a backup, named by its UTC time, under --dest")
    make.add_argument("--dest", type=Path, default=Path("backups"), help="the backups' directory")
    check = commands.add_parser("verify", help="check a backup's files against its manifest")
    check.add_argument("source", type=Path)
    put = commands.add_parser("restore", help="put a backup back (the system stopped)")
    put.add_argument("source", type=Path)
    put.add_argument("--force", action="store_true", help="restore even while the system runs")
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            args.dest.mkdir(parents=True, exist_ok=True)
            started = time.monotonic()
            made = create(args.dest, Places.from_environment())
            manifest = json.loads((made / MANIFEST).read_text(encoding="utf-8"))
            size = sum(entry["bytes"] for entry in manifest["files"])
            attachments = plural(manifest["attachments"]["count"], "attachment")
            print(
                f"backup: {made} ({len(SERVICES)} databases, {attachments}, {human(size)}) "
                f"in {time.monotonic() - started:.1f} s"
            )
        elif args.command == "verify":
            manifest = verify(args.source)
            print(f"backup: {args.source}: {len(manifest['files'])} files match the manifest")
        else:
            restore(args.source, Places.from_environment(), force=args.force)
    except BackupError as exc:
        print(f"{parser.prog} {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
