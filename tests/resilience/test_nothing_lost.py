"""Nothing lost, nothing disclosed twice: kill workers, kill the relay, restart Redis.

Each test runs its own system from the Procfile (real processes, real redis-server,
real SQLite), breaks a part of it in the middle of a burst, and then checks what
the public sees: every procedure page shows the owner's current version, the feed
lists each version once, and no version was delivered twice to a channel.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter

import pytest
from sqlalchemy import Engine

from minhbach_shared import names
from minhbach_shared.auth import Role
from minhbach_shared.db import make_engine
from minhbach_shared.harness import System, today_in_vietnam
from minhbach_shared.outbox import OutboxRelay, celery_sender
from minhbach_shared.testing import wait_until

pytestmark = pytest.mark.system


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


def shown_version(system: System, code: str, channel: str = "portal") -> int | None:
    page = system.portal_page(f"thu-tuc/{code}.html", channel=channel)
    match = re.search(r'<meta name="mb:version" content="(\d+)"', page.text)
    return int(match.group(1)) if page.status_code == 200 and match else None


def notifier_db(system: System) -> sqlite3.Connection:
    return sqlite3.connect(system.env["NOTIFIER_DATABASE_URL"].removeprefix("sqlite:///"))


def assert_everything_disclosed_once(system: System, codes: list[str], *, timeout: float = 60) -> None:
    wanted = owner_versions(system)
    assert set(codes) <= set(wanted)

    def converged() -> bool:
        return all(
            shown_version(system, code, channel) == wanted[code]
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
            if (shown := shown_version(system, c, channel)) != wanted[c]
        }
        raise AssertionError(f"pages behind (shown, wanted): {behind}\n{system.logs()}") from None

    with notifier_db(system) as db:
        sent = Counter(
            db.execute(
                "SELECT channel, subject_kind, subject_id, version FROM deliveries WHERE status = 'sent'"
            ).fetchall()
        )
    twice = {key: n for key, n in sent.items() if n > 1}
    assert not twice, f"delivered more than once: {twice}"

    feed = system.portal_page("feed.xml").text
    entry_ids = re.findall(r"<id>(urn:minhbach:[^<]+)</id>", feed)
    assert len(entry_ids) == len(set(entry_ids)), "the feed lists a change twice"
    for code in codes:
        for version in range(1, wanted[code] + 1):
            assert f"urn:minhbach:procedure:{code}:v{version}" in entry_ids, (code, version)


def test_workers_killed_in_the_middle_of_a_burst(fresh_system: System, procedure_like):
    system = fresh_system
    codes = seed_drafts(system, procedure_like, "KILL", 40)
    put_in_force(system, "201/QĐ-SXD", codes)
    # the burst is under way: the first pages are out, the rest are not
    wait_until(lambda: shown_version(system, codes[0]) == 1, timeout=20, message="first page")
    system.processes["notifier-events"].kill()
    system.processes["notifier-portal"].kill()
    system.processes["notifier-center"].kill()

    amend(system, "202/QĐ-SXD", codes[:20], days=9)  # more changes while they are dead
    system.start_process("notifier-events")
    system.start_process("notifier-portal")
    system.start_process("notifier-center")

    assert_everything_disclosed_once(system, codes)
    assert "9 ngày làm việc" in system.portal_page(f"thu-tuc/{codes[0]}.html").text


def relay_engine(system: System) -> Engine:
    return make_engine(system.env["PROCEDURES_DATABASE_URL"])


def test_relay_killed_between_sending_and_marking_sent(fresh_system: System, procedure_like):
    system = fresh_system
    system.processes["procedures-relay"].kill()
    codes = seed_drafts(system, procedure_like, "RELAY", 20)
    put_in_force(system, "203/QĐ-SXD", codes)

    from procedures.db import outbox
    from procedures.settings import Settings
    from procedures.worker import create_celery

    send = celery_sender(create_celery(Settings(redis_url=system.redis.url)))

    def send_then_die(envelopes: list[dict]) -> None:
        send(envelopes)
        raise SystemExit("relay killed after the broker took the batch, before marking it sent")

    with pytest.raises(SystemExit):
        OutboxRelay(engine=relay_engine(system), table=outbox, send=send_then_die).relay_once()

    system.start_process("procedures-relay")  # sends the same batch again
    assert_everything_disclosed_once(system, codes)
    with notifier_db(system) as db:
        seen = db.execute("SELECT COUNT(*) FROM seen_events").fetchone()[0]
    assert seen == len(codes) + 1  # each event once: 20 procedures and the decision


def test_redis_restart_loses_acknowledged_messages_and_reconciliation_repairs(
    fresh_system: System, procedure_like
):
    system = fresh_system
    codes = seed_drafts(system, procedure_like, "REDIS", 30)
    put_in_force(system, "204/QĐ-SXD", codes[:10])
    wait_until(lambda: shown_version(system, codes[9]) == 1, timeout=20, message="first decision out")

    # Events the relay sent and Redis acknowledged, waiting for a consumer ...
    system.processes["notifier-events"].kill()
    put_in_force(system, "205/QĐ-SXD", codes[10:])
    amend(system, "206/QĐ-SXD", codes[:10], days=11)
    redis = system.redis.client()
    wait_until(lambda: redis.llen(names.EVENTS_QUEUE) >= 2, timeout=20, message="events queued in Redis")

    def unsent() -> int:
        with relay_engine(system).connect() as conn:
            return int(
                conn.exec_driver_sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").scalar() or 0
            )

    # The relay marks a batch sent right after Redis took it: wait for that mark too.
    wait_until(lambda: unsent() == 0, timeout=20, message="the relay to mark its batches sent")
    assert redis.llen(names.EVENTS_QUEUE) >= 2  # the relay handed them over: only Redis has them

    # ... are lost when Redis dies without persistence and comes back empty.
    system.redis.restart(kill=True)
    assert system.redis.client().llen(names.EVENTS_QUEUE) == 0
    system.start_process("notifier-events")

    assert_everything_disclosed_once(system, codes)
    with system.procedures() as api:  # the owner API survived the restart too
        assert api.get("/readyz").status_code == 200


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

    from procedures.settings import Settings
    from procedures.worker import create_celery

    celery = create_celery(Settings(redis_url=system.redis.url))
    celery.send_task(names.INGEST_TASK, args=[sent], queue=names.EVENTS_QUEUE)  # every event again
    celery.send_task(names.INGEST_TASK, args=[older], queue=names.EVENTS_QUEUE)  # new ids, old versions
    redis = system.redis.client()
    wait_until(
        lambda: redis.llen(names.EVENTS_QUEUE) == 0 and redis.hlen("unacked") == 0,
        timeout=20,
        message="the notifier consumed both batches",
    )

    with notifier_db(system) as db:
        assert db.execute("SELECT id, status, version FROM deliveries ORDER BY id").fetchall() == before
        assert (
            db.execute("SELECT * FROM ledger ORDER BY subject_kind, subject_id").fetchall() == ledger_before
        )
    assert {c: system.portal_page(f"thu-tuc/{c}.html").text for c in codes} == pages_before
