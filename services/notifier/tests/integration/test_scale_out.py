"""Events workers scale out: three of them ingest interleaved versions of the same subjects
at once (and some messages twice, as at-least-once delivery may), and every page ends at
the newest version, no version disclosed twice to a channel (issue 15)."""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from minhbach_shared import names
from minhbach_shared.celery import seen_workers
from minhbach_testing.notifier import envelope, procedure_state, worker_env
from minhbach_testing.plugin import REPO_ROOT, ServiceProcess, wait_until

CODES = [f"MB.SO.{n:03d}" for n in range(30)]
VERSIONS = 4


def celery_worker(
    tmp_path: Path, settings, owner_server: str, name: str, queues: list[str]
) -> ServiceProcess:
    env = worker_env(settings, owner_server)
    celery_bin = shutil.which("celery") or str(Path(sys.executable).parent / "celery")
    argv = [
        celery_bin, "-A", "notifier.worker", "worker", "-Q", ",".join(queues),
        "--concurrency", "1", "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "-l", "INFO",
    ]  # fmt: skip
    return ServiceProcess(name, argv, env, tmp_path / f"{name}.log").start()


@pytest.fixture
def workers(tmp_path, settings, owner_server):
    started = [
        *(
            celery_worker(tmp_path, settings, owner_server, f"events{i}", [names.EVENTS_QUEUE])
            for i in range(3)
        ),
        celery_worker(
            tmp_path,
            settings,
            owner_server,
            "channels",
            [names.channel_queue("portal"), names.channel_queue("center")],
        ),
    ]
    yield started
    for process in started:
        process.stop()


def shown(path: Path) -> int | None:
    try:
        match = re.search(r'<meta name="mb:version" content="(\d+)">', path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return int(match.group(1)) if match else None


def test_three_events_workers_end_at_the_newest_version_each_disclosed_once(
    workers, celery_app, owner, settings, redis_client
):
    # All three consume before the first message goes (their heartbeats say so).
    def consumers() -> int:
        return sum(1 for w in seen_workers(redis_client).values() if names.EVENTS_QUEUE in w["queues"])

    wait_until(lambda: consumers() == 3, timeout=60, message="three events workers online")
    rng = random.Random(15)
    sent: list[list[dict]] = []
    for version in range(1, VERSIONS + 1):
        for code in CODES:
            owner.put("procedure", procedure_state(code, version))
        events = [envelope("procedure", code, version) for code in CODES]
        rng.shuffle(events)
        batches = [events[i : i + 5] for i in range(0, len(events), 5)]
        # At least once: some batches of the previous version arrive again, late.
        batches += rng.sample(sent, k=min(2, len(sent)))
        rng.shuffle(batches)
        for batch in batches:
            celery_app.send_task(names.INGEST_TASK, args=[batch], queue=names.EVENTS_QUEUE)
        sent += batches

    def every_page_newest() -> bool:
        for process in workers:
            process.assert_alive()
        return all(
            shown(settings.portal_dir / "thu-tuc" / f"{c}.html") == VERSIONS
            and shown(settings.center_dir / "thu-tuc" / f"{c}.html") == VERSIONS
            for c in CODES
        )

    wait_until(every_page_newest, timeout=90, interval=0.2, message="every page at the newest version")
    wait_until(
        lambda: all(redis_client.llen(q) == 0 for q in (names.EVENTS_QUEUE, names.channel_queue("portal"))),
        timeout=30,
        message="queues drained",
    )
    # The three of them took part (else this proves nothing about scaling out).
    ingested = [p.tail(2000).count("ingested") for p in workers[:3]]
    assert all(n > 0 for n in ingested), ingested
    engine = create_engine(settings.database_url)

    def disclosed() -> tuple[list[Any], dict[str, int]]:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT channel, subject_id, version FROM deliveries "
                    "WHERE status = 'sent' AND channel IN ('portal', 'center')"
                )
            ).all()
            ledger = dict(
                conn.execute(text("SELECT subject_id, version FROM ledger WHERE channel = 'portal'")).all()
            )
        return list(rows), ledger

    # A page is on disk a moment before its run records it (after the lists and the search
    # index): the ledger is looked at until the run that wrote the last page has recorded.
    try:
        wait_until(
            lambda: disclosed()[1] == dict.fromkeys(CODES, VERSIONS),
            timeout=30,
            message="the ledger at the newest version",
        )
        rows, ledger = disclosed()
    finally:
        engine.dispose()
    twice = [key for key, n in Counter(rows).items() if n > 1]
    assert twice == [], f"disclosed twice: {twice}"
    assert ledger == dict.fromkeys(CODES, VERSIONS)


def test_make_up_starts_as_many_events_workers_as_asked(tmp_path, settings, owner_server, redis_client):
    """`make up EVENTS_WORKERS=3` starts the Procfile scripts/procfile_up.py writes: three
    events workers, each a node of its own consuming the events queue (one name shared by
    three would share one mailbox: Flower and `celery inspect` would see one)."""
    procfile = tmp_path / "Procfile.up"
    written = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "procfile_up.py"), "--events-workers", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    procfile.write_text(written.stdout, encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    honcho = ServiceProcess(
        "honcho",
        [
            str(bin_dir / "honcho"),
            "start",
            "-f",
            str(procfile),
            *(f"notifier-events{n}" for n in ("", "-2", "-3")),
        ],
        {**worker_env(settings, owner_server), "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        tmp_path / "honcho.log",
    ).start()
    host = socket.gethostname()

    def consuming_events() -> set[str]:
        honcho.assert_alive()
        return {name for name, w in seen_workers(redis_client).items() if names.EVENTS_QUEUE in w["queues"]}

    try:
        wait_until(
            lambda: consuming_events() == {f"events@{host}", f"events-2@{host}", f"events-3@{host}"},
            timeout=60,
            message="three events nodes on the events queue",
        )
    finally:
        honcho.stop()
