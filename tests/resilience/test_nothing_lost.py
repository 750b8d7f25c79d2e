"""Nothing lost, nothing disclosed twice: kill workers, kill the relay, restart Redis.

Each test runs its own system from the Procfile (real processes, real redis-server,
real SQLite), breaks a part of it in the middle of a burst, checks that the break
really landed mid-burst, and then checks what the public sees: every procedure page
shows the owner's current version, the feed lists each version once, and no version
was delivered twice to a channel.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from minhbach_shared import names
from minhbach_shared.auth import Role
from minhbach_shared.db import make_engine
from minhbach_shared.outbox import TEST_PAUSE_AFTER_SEND_ENV, pause_after_send_for_tests
from minhbach_testing.harness import CORE_PROCESSES, System, running_system, today_in_vietnam
from minhbach_testing.plugin import free_port, serving, wait_until

# A channel run takes at most this many rows: a burst of 60 needs 12+ runs per channel,
# so "the first page is out" leaves most of the burst still to do.
SMALL_BATCH = "5"
# The channel workers first: they are the ones in the middle of the burst.
NOTIFIER_WORKERS = ("notifier-portal", "notifier-center", "notifier-events")


def backbone(root: Path, **overrides: str) -> contextlib.AbstractContextManager[System]:
    """Like the fresh_system fixture (procedures and the notifier), with settings overridden."""
    return running_system(root, CORE_PROCESSES, **overrides)


def seed_drafts(system: System, procedure_like, prefix: str, count: int) -> list[str]:
    codes = [f"{prefix}.{i:03d}" for i in range(count)]
    for i, code in enumerate(codes):
        system.create_procedure(procedure_like(code, f"Thủ tục thử nghiệm {prefix} số {i}", base=i))
    return codes


def put_in_force(system: System, number: str, codes: list[str]) -> None:
    published = system.decide(
        number, [{"action": "new", "procedure_code": c} for c in codes], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text


def amend(system: System, number: str, codes: list[str], days: int) -> None:
    with system.procedures() as api:
        for code in codes:
            edited = api.patch(
                f"/v1/procedures/{code}",
                json={"processing_time": {"value": days, "unit": "working_days"}},
                headers=system.token(Role.EDITOR),
            )
            assert edited.status_code == 200, edited.text
    published = system.decide(
        number, [{"action": "amend", "procedure_code": c} for c in codes], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text


def owner_versions(system: System) -> dict[str, int]:
    with system.procedures() as api:
        subjects = api.get("/v1/sync/versions").json()["subjects"]
    return {s["id"]: s["version"] for s in subjects if s["kind"] == "procedure"}


# Every channel that shows a procedure: the portal page and the service centre's notice.
PROCEDURE_CHANNELS = ("portal", "center")


def notifier_db(system: System) -> sqlite3.Connection:
    return sqlite3.connect(system.env["NOTIFIER_DATABASE_URL"].removeprefix("sqlite:///"))


def assert_everything_disclosed_once(system: System, codes: list[str], *, timeout: float = 60) -> None:
    wanted = owner_versions(system)
    assert set(codes) <= set(wanted)

    def converged() -> bool:
        return all(
            system.shown_version(code, channel) == wanted[code]
            for code in codes
            for channel in PROCEDURE_CHANNELS
        )

    try:
        wait_until(converged, timeout=timeout, interval=0.2, message="every page at the owner's version")
    except AssertionError:
        behind = {
            (channel, c): (shown, wanted[c])
            for c in codes
            for channel in PROCEDURE_CHANNELS
            if (shown := system.shown_version(c, channel)) != wanted[c]
        }
        raise AssertionError(f"pages behind (shown, wanted): {behind}\n{system.logs()}") from None

    sent = Counter(
        (d["channel"], d["subject_kind"], d["subject_id"], d["version"]) for d in system.deliveries("sent")
    )
    twice = {key: n for key, n in sent.items() if n > 1}
    assert not twice, f"delivered more than once: {twice}"

    feed = system.portal_page("feed.xml").text
    entry_ids = re.findall(r"<id>(urn:minhbach:[^<]+)</id>", feed)
    assert len(entry_ids) == len(set(entry_ids)), "the feed lists a change twice"
    for code in codes:
        for version in range(1, wanted[code] + 1):
            assert f"urn:minhbach:procedure:{code}:v{version}" in entry_ids, (code, version)


def workers_ready(system: System, names: tuple[str, ...]) -> bool:
    """Each Celery worker has said it is ready to consume (its log's "<name>@host ready.")."""
    return all(" ready." in system.processes[name].tail(400) for name in names)


def first_page_out(system: System, codes: list[str]) -> bool:
    """A page of the burst is written on either channel (read from disk: fast to poll)."""
    pages = {f"{c}.html" for c in codes}
    for root in (system.portal_dir, system.center_dir):
        with contextlib.suppress(FileNotFoundError):
            if pages & set(os.listdir(root / "thu-tuc")):
                return True
    return False


def test_workers_killed_in_the_middle_of_a_burst(tmp_path: Path, procedure_like):
    with backbone(tmp_path, NOTIFIER_CHANNEL_BATCH_SIZE=SMALL_BATCH) as system:
        codes = seed_drafts(system, procedure_like, "KILL", 60)
        # Every worker consuming before the burst: a worker still starting would let the
        # other channel finish its whole burst before "the first page" appears.
        wait_until(lambda: workers_ready(system, NOTIFIER_WORKERS), timeout=60, message="workers ready")
        put_in_force(system, "201/QĐ-SXD", codes)
        # the burst is under way: a first page is out on one of the channels ...
        wait_until(lambda: first_page_out(system, codes), timeout=60, interval=0.005, message="first page")
        for name in NOTIFIER_WORKERS:
            system.processes[name].kill()  # kill -9, the whole process group

        # ... and, with every notifier worker dead, nothing moves: this is the moment of
        # the kill. Most of the burst was still to do on both channels.
        for channel in PROCEDURE_CHANNELS:
            pending = system.deliveries("pending", channel=channel)
            assert pending, f"the {channel} burst was over before the kill"
        not_out = [c for c in codes if system.shown_version(c) != 1]
        assert not_out, "every page was out before the kill"

        amend(system, "202/QĐ-SXD", codes[:20], days=9)  # more changes while they are dead
        for name in NOTIFIER_WORKERS:
            system.start_process(name)

        assert_everything_disclosed_once(system, codes, timeout=120)
        assert "9 ngày làm việc" in system.portal_page(f"thu-tuc/{codes[0]}.html").text


def relay_engine(system: System) -> Engine:
    return make_engine(system.env["PROCEDURES_DATABASE_URL"])


def unsent(system: System) -> int:
    with relay_engine(system).connect() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").scalar() or 0)


def json_logs(system: System, process: str, message: str) -> list[dict[str, Any]]:
    """The process's JSON log records with this message (from every run of it)."""
    path = system.root / "logs" / f"{process}.log"
    records = []
    for line in path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("message") == message:
                records.append(record)
    return records


PAUSED = "test fault hook: batch sent, pausing before marking it sent"


def test_relay_killed_between_sending_and_marking_sent(fresh_system: System, procedure_like):
    system = fresh_system
    # The relay process, run with the test-only pause between the broker's acceptance
    # of a batch and the commit that marks it sent.
    system.processes["procedures-relay"].kill()
    system.env[TEST_PAUSE_AFTER_SEND_ENV] = "600"
    system.start_process("procedures-relay")

    codes = seed_drafts(system, procedure_like, "RELAY", 20)
    put_in_force(system, "203/QĐ-SXD", codes)
    paused = wait_until(
        lambda: json_logs(system, "procedures-relay", PAUSED), timeout=60, message="the relay to send"
    )
    assert [r["events"] for r in paused] == [len(codes) + 1]  # the decision's batch, in one message
    # Redis took the batch and the notifier consumed it; the relay has not marked it sent.
    with notifier_db(system) as db:
        wait_until(
            lambda: db.execute("SELECT COUNT(*) FROM seen_events").fetchone()[0] == len(codes) + 1,
            timeout=60,
            message="the notifier to ingest the batch",
        )
    assert unsent(system) == len(codes) + 1
    system.processes["procedures-relay"].kill()  # kill -9 in that window
    assert unsent(system) == len(codes) + 1, "the relay marked the batch sent before it died"

    del system.env[TEST_PAUSE_AFTER_SEND_ENV]
    system.start_process("procedures-relay")  # sends the same batch again
    wait_until(lambda: unsent(system) == 0, timeout=60, message="the restarted relay to send again")
    # The notifier got the batch a second time and dropped every event by its id.
    wait_until(
        lambda: any(
            r["duplicates"] == len(codes) + 1 for r in json_logs(system, "notifier-events", "ingested")
        ),
        timeout=60,
        message="the notifier to drop the second copy",
    )

    assert_everything_disclosed_once(system, codes)
    with notifier_db(system) as db:
        seen = db.execute("SELECT COUNT(*) FROM seen_events").fetchone()[0]
    assert seen == len(codes) + 1  # each event once: 20 procedures and the decision


def test_the_relay_refuses_its_test_pause_in_production(tmp_path: Path):
    with pytest.raises(RuntimeError, match="refused in production"):
        pause_after_send_for_tests("production", {TEST_PAUSE_AFTER_SEND_ENV: "5"})
    assert pause_after_send_for_tests("production", {}) == 0
    assert pause_after_send_for_tests("test", {TEST_PAUSE_AFTER_SEND_ENV: "2.5"}) == 2.5

    started = subprocess.run(
        [sys.executable, "-m", "procedures.relay"],
        env={
            **os.environ,
            "MB_ENVIRONMENT": "production",
            "MB_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "PROCEDURES_DATABASE_URL": f"sqlite:///{tmp_path / 'procedures.db'}",
            TEST_PAUSE_AFTER_SEND_ENV: "5",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert f"{TEST_PAUSE_AFTER_SEND_ENV} is a test-only fault hook" in started.stderr


class OwnerGate:
    """A proxy in front of the procedures API for the notifier, which the test can hold shut.

    While shut, the owner answers nothing (it is slow, as under load): the notifier's
    events worker, running, sits in its fetch, and the events that follow wait in Redis.
    """

    def __init__(self) -> None:
        self.target = ""
        self.open = threading.Event()
        self.open.set()
        self.held = 0

    @contextlib.contextmanager
    def shut(self) -> Iterator[None]:
        self.open.clear()
        try:
            yield
        finally:
            self.open.set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.held += 1
        try:
            while not self.open.is_set():
                await asyncio.sleep(0.05)
        finally:
            self.held -= 1
        query = scope["query_string"].decode()
        async with httpx.AsyncClient(base_url=self.target, timeout=30) as client:
            answer = await client.request(
                scope["method"],
                scope["path"] + (f"?{query}" if query else ""),
                content=body,
                headers=[
                    (k, v) for k, v in scope["headers"] if k.lower() not in (b"host", b"content-length")
                ],
            )
        skip = {"content-length", "content-encoding", "transfer-encoding", "connection"}
        headers = [(k.encode(), v.encode()) for k, v in answer.headers.items() if k.lower() not in skip]
        headers.append((b"content-length", str(len(answer.content)).encode()))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": answer.content})


def queued_event_ids(redis: Any) -> set[str]:
    """The ids of the events waiting in Redis's events queue (kombu's JSON messages; the
    pump's ticks wait there too, and carry none)."""
    ids: set[str] = set()
    for raw in redis.lrange(names.EVENTS_QUEUE, 0, -1):
        message = json.loads(raw)
        if message.get("headers", {}).get("task") != names.INGEST_TASK:
            continue
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        ids.update(e["id"] for e in args[0])
    return ids


def test_redis_restart_mid_burst_loses_acknowledged_messages_and_reconciliation_repairs(
    tmp_path: Path, procedure_like
):
    gate = OwnerGate()
    with (
        serving(gate) as gate_url,
        backbone(
            tmp_path,
            NOTIFIER_PROCEDURES_URL=gate_url,
            NOTIFIER_OWNER_TIMEOUT_S="120",
            NOTIFIER_CHANNEL_BATCH_SIZE=SMALL_BATCH,
        ) as system,
    ):
        gate.target = system.procedures_url
        codes = seed_drafts(system, procedure_like, "REDIS", 50)
        # A burst: its first page is out, the rest are in flight through the channels.
        put_in_force(system, "204/QĐ-SXD", codes[:30])
        wait_until(lambda: system.shown_version(codes[0]) == 1, timeout=60, message="first page")

        # More changes while the owner is slow: the events worker (both its processes)
        # sits in its fetches, so the relay's next batches wait in Redis's events queue.
        with gate.shut():
            amend(system, "205/QĐ-SXD", codes[:10], days=11)
            wait_until(lambda: unsent(system) == 0, timeout=60, message="the relay to send 205")
            put_in_force(system, "206/QĐ-SXD", codes[30:40])
            wait_until(lambda: unsent(system) == 0, timeout=60, message="the relay to send 206")
            put_in_force(system, "207/QĐ-SXD", codes[40:])
            wait_until(lambda: unsent(system) == 0, timeout=60, message="the relay to send 207")
            redis = system.redis.client()
            wait_until(
                lambda: gate.held >= 2 and queued_event_ids(redis),
                timeout=60,
                message="the events worker busy and events waiting in Redis",
            )

            # The moment of the restart: the relay marked every batch sent (Redis took them),
            # some wait only in Redis, and much of what changed is not on the portal yet.
            assert unsent(system) == 0
            lost = queued_event_ids(redis)
            assert lost
            wanted = owner_versions(system)
            behind = [c for c in codes if system.shown_version(c) != wanted[c]]
            assert behind, "everything was out before the restart"
            workers = {name: system.processes[name].proc for name in NOTIFIER_WORKERS}

            # Redis dies without persistence and comes back empty: the waiting events are lost.
            system.redis.restart(kill=True)
            assert not queued_event_ids(system.redis.client())

        # The owner answers again.
        assert_everything_disclosed_once(system, codes, timeout=180)
        for name, proc in workers.items():  # the same worker processes, never restarted
            assert system.processes[name].proc is proc
            system.processes[name].assert_alive()
        with notifier_db(system) as db:  # the lost events never arrived: reconciliation repaired
            seen = {r[0] for r in db.execute("SELECT event_id FROM seen_events")}
        assert not lost & seen
        with system.procedures() as api:  # the owner API survived the restart too
            assert api.get("/readyz").status_code == 200


def unacked_ingests(redis: Any) -> int:
    """Ingest messages a worker holds (other tasks, e.g. a catch-up reconcile, may wait there long)."""
    held = [json.loads(raw)[0] for raw in redis.hvals("unacked")]
    return sum(1 for m in held if m.get("headers", {}).get("task") == names.INGEST_TASK)


def test_a_duplicated_event_and_an_older_version_change_nothing(fresh_system: System, procedure_like):
    system = fresh_system
    codes = seed_drafts(system, procedure_like, "DUP", 3)
    put_in_force(system, "207/QĐ-SXD", codes)
    amend(system, "208/QĐ-SXD", codes, days=12)
    assert_everything_disclosed_once(system, codes)

    with relay_engine(system).connect() as conn:
        sent = [json.loads(r[0]) for r in conn.exec_driver_sql("SELECT envelope FROM outbox ORDER BY seq")]
    older = [
        {**e, "id": e["id"][:-4] + "beef", "version": 1} for e in sent if e["type"] == "procedure.amended"
    ]
    with notifier_db(system) as db:
        before = db.execute("SELECT id, status, version FROM deliveries ORDER BY id").fetchall()
        ledger_before = db.execute("SELECT * FROM ledger ORDER BY subject_kind, subject_id").fetchall()
    pages_before = {c: system.portal_page(f"thu-tuc/{c}.html").text for c in codes}

    from procedures.bootstrap import create_celery
    from procedures.settings import Settings

    celery = create_celery(Settings(redis_url=system.redis.url))
    celery.send_task(names.INGEST_TASK, args=[sent], queue=names.EVENTS_QUEUE)  # every event again
    celery.send_task(names.INGEST_TASK, args=[older], queue=names.EVENTS_QUEUE)  # new ids, old versions
    redis = system.redis.client()
    wait_until(
        lambda: redis.llen(names.EVENTS_QUEUE) == 0 and not unacked_ingests(redis),
        timeout=60,
        message="the notifier consumed both batches",
    )

    with notifier_db(system) as db:
        assert db.execute("SELECT id, status, version FROM deliveries ORDER BY id").fetchall() == before
        assert (
            db.execute("SELECT * FROM ledger ORDER BY subject_kind, subject_id").fetchall() == ledger_before
        )
    assert {c: system.portal_page(f"thu-tuc/{c}.html").text for c in codes} == pages_before
