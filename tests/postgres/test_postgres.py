"""Both services on PostgreSQL, as docker compose runs them: migrations, search, outbox, ingest.

One throwaway cluster per session (minhbach_testing.plugin.postgres_server), a fresh
database per test; the rest of the suite runs the same code on SQLite.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from minhbach_shared.auth import Role
from minhbach_shared.db import make_engine, migrate
from minhbach_shared.events import Subject
from minhbach_testing.notifier import FakeOwner, decision_state, envelope, procedure_state
from minhbach_testing.plugin import PostgresServer, RedisServer, shared_dir
from minhbach_testing.tokens import bearer
from notifier import manage as notifier_manage
from notifier.bootstrap import build_parts, make_notifier_celery
from notifier.channels import QUEUED
from notifier.db import deliveries, ledger, seen_events, subjects
from notifier.disclosure import services as disclosure
from notifier.operations import services as operations
from notifier.owners import OwnerRegistry
from notifier.parts import Parts
from notifier.settings import Settings as NotifierSettings
from procedures import manage as procedures_manage
from procedures.app import create_app
from procedures.domain import vietnam_today
from procedures.settings import Settings as ProceduresSettings

DATA = shared_dir() / "data"
SAMPLE = json.loads((DATA / "procedures-sample.json").read_text(encoding="utf-8"))
CASES = json.loads((DATA / "search-cases.json").read_text(encoding="utf-8"))["cases"]
MIGRATIONS = {"procedures": procedures_manage.MIGRATIONS, "notifier": notifier_manage.MIGRATIONS}


def head_of(script_location: Path) -> str:
    script = ScriptDirectory(str(script_location))
    head = script.get_current_head()
    assert head is not None
    return head


def scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


# -- migrations ----------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(MIGRATIONS))
def test_migrations_run_to_head_on_a_fresh_database(postgres_server: PostgresServer, service: str) -> None:
    url = postgres_server.create_database(f"migrate_{service}")
    migrate(url, MIGRATIONS[service])
    migrate(url, MIGRATIONS[service])  # at head already: a no-op, as on every container start
    engine = make_engine(url)
    try:
        assert engine.dialect.name == "postgresql"
        assert scalar(engine, "SELECT version_num FROM alembic_version") == head_of(MIGRATIONS[service])
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    expected = {
        "procedures": {"procedures", "procedure_versions", "decisions", "decision_changes", "outbox"},
        "notifier": {"seen_events", "subjects", "deliveries", "ledger"},
    }[service]
    assert expected <= tables
    assert not {t for t in tables if t.startswith("procedure_search")}, "FTS5 is SQLite-only"


# -- procedures: publishing (search on PostgreSQL runs in services/procedures/tests/api/test_search.py)


def _headers(settings: ProceduresSettings, role: Role) -> dict[str, str]:
    return bearer(role, service="procedures")


def _procedures_settings(url: str, redis_url: str, var_dir: Path) -> ProceduresSettings:
    migrate(url, MIGRATIONS["procedures"])
    return ProceduresSettings(
        database_url=url, redis_url=redis_url, environment="test", log_json=False, var_dir=var_dir
    )


@pytest.fixture
def procedures_client(
    postgres_url: str, redis_server: RedisServer, tmp_path: Path
) -> Iterator[tuple[TestClient, ProceduresSettings]]:
    settings = _procedures_settings(postgres_url, redis_server.url, tmp_path)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, settings


def _sample(code: str) -> dict[str, Any]:
    return copy.deepcopy(next(p for p in SAMPLE["procedures"] if p["code"] == code))


def _decision(*codes: str) -> dict[str, Any]:
    today: date = vietnam_today(datetime.now(UTC))
    return {
        "number": "12/QĐ-SXD",
        "title": "Công bố thủ tục hành chính",
        "issuer": "Sở Xây dựng tỉnh Thái Bình",
        "signed_on": today.isoformat(),
        "effective_on": today.isoformat(),
        "changes": [{"action": "new", "procedure_code": c} for c in codes],
    }


def _outbox(settings: ProceduresSettings) -> list[dict[str, Any]]:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT envelope FROM outbox ORDER BY seq")).scalars().all()
    finally:
        engine.dispose()
    return [json.loads(r) for r in rows]


def test_publishing_a_decision_writes_its_outbox_rows(
    procedures_client: tuple[TestClient, ProceduresSettings],
) -> None:
    client, settings = procedures_client
    editor, approver = _headers(settings, Role.EDITOR), _headers(settings, Role.APPROVER)
    for code in ("MB.XD.001", "MB.XD.004"):
        assert client.post("/v1/procedures", json=_sample(code), headers=editor).status_code == 201
    assert _outbox(settings) == []  # drafts are not public
    created = client.post("/v1/decisions", json=_decision("MB.XD.001", "MB.XD.004"), headers=editor)
    assert created.status_code == 201, created.text
    decision_id = created.json()["id"]
    submitted = client.post(f"/v1/decisions/{decision_id}/submit", headers=editor)
    assert submitted.status_code == 200, submitted.text
    assert _outbox(settings) == []  # in review: not public either
    published = client.post(f"/v1/decisions/{decision_id}/publish", headers=approver)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "in_effect"
    events = _outbox(settings)
    assert [(e["type"], e["subject"]["id"], e["version"]) for e in events] == [
        ("decision.published", str(decision_id), 1),
        ("procedure.published", "MB.XD.001", 1),
        ("procedure.published", "MB.XD.004", 1),
    ]
    procedure = client.get("/v1/procedures/MB.XD.001").json()
    assert procedure["status"] == "in_force" and procedure["effective_at"].endswith("T00:00:00+07:00")
    versions = client.get("/v1/procedures/MB.XD.001/versions").json()["items"]
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["content"]["fees"][0]["amount_vnd"] == 150000  # the JSON column round trip
    # Published text is searchable at once (the portable search path).
    found = client.get("/v1/procedures", params={"q": "giay phep xay dung"}).json()["items"]
    assert found[0]["code"] == "MB.XD.001"
    assert client.post(f"/v1/decisions/{decision_id}/publish", headers=approver).status_code == 409


def test_an_incomplete_decision_is_422_and_writes_nothing(
    procedures_client: tuple[TestClient, ProceduresSettings],
) -> None:
    client, settings = procedures_client
    editor, approver = _headers(settings, Role.EDITOR), _headers(settings, Role.APPROVER)
    incomplete = {k: v for k, v in _sample("MB.XD.002").items() if k not in ("steps", "fees")}
    for body in (_sample("MB.XD.001"), incomplete):
        assert client.post("/v1/procedures", json=body, headers=editor).status_code == 201
    decision_id = client.post(
        "/v1/decisions", json=_decision("MB.XD.001", "MB.XD.002"), headers=editor
    ).json()["id"]
    # Refused at submit, before any approver sees it; a draft cannot be published either.
    response = client.post(f"/v1/decisions/{decision_id}/submit", headers=editor)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["missing"] == ["steps", "fees"]
    assert client.post(f"/v1/decisions/{decision_id}/publish", headers=approver).status_code == 409
    assert client.get("/v1/procedures/MB.XD.001").status_code == 404
    assert client.get(f"/v1/decisions/{decision_id}", headers=editor).json()["status"] == "draft"
    assert _outbox(settings) == []
    engine = make_engine(settings.database_url)
    try:
        assert scalar(engine, "SELECT count(*) FROM procedure_versions") == 0
    finally:
        engine.dispose()


# -- notifier: ingest, deliveries, ledger --------------------------------------------


@pytest.fixture
def notifier_on_pg(
    postgres_url: str, redis_server: RedisServer, tmp_path: Path
) -> Iterator[tuple[Parts, FakeOwner]]:
    settings = NotifierSettings(
        database_url=postgres_url,
        portal_dir=tmp_path / "portal",
        redis_url=redis_server.url,
        max_attempts=3,
        retry_base_s=0.01,
        retry_cap_s=0.05,
        log_json=False,
        environment="test",
    )
    notifier_manage.migrate(settings)
    owner = FakeOwner()
    celery_app = make_notifier_celery(settings)
    redis_client = redis_server.client()
    service = build_parts(settings, celery=celery_app, owners=OwnerRegistry.single(owner), redis=redis_client)
    try:
        yield service, owner
    finally:
        service.engine.dispose()
        celery_app.close()
        redis_client.close()


def test_notifier_ingest_deliveries_and_ledger(notifier_on_pg: tuple[Parts, FakeOwner]) -> None:
    notifier, owner = notifier_on_pg
    assert notifier.engine.dialect.name == "postgresql"

    def count(table: Any, *where: Any) -> int:
        with Session(notifier.engine) as s:
            return int(s.scalar(select(func.count()).select_from(table).where(*where)) or 0)

    owner.put("procedure", procedure_state("MB.XD.001", 1))
    owner.put("decision", decision_state(3, 1))
    first = envelope("procedure", "MB.XD.001", 1, "procedure.published")
    report = disclosure.ingest(notifier, [first, envelope("decision", "3", 1)])
    assert sorted(report.changed) == [("decision", "3"), ("procedure", "MB.XD.001")]
    # One row per channel that shows each: both on the portal, the procedure at the centre too.
    pending = [("portal", "procedure"), ("portal", "decision"), ("center", "procedure")]
    with Session(notifier.engine) as s:
        rows = s.execute(
            select(deliveries.c.channel, deliveries.c.subject_kind).where(deliveries.c.status == "pending")
        ).all()
    assert sorted(tuple(r) for r in rows) == sorted(pending)
    with Session(notifier.engine) as s:
        row = s.execute(select(subjects).where(subjects.c.id == "MB.XD.001")).one()
    assert row.version == 1 and json.loads(row.state)["code"] == "MB.XD.001"
    assert row.updated_at.tzinfo is not None and row.updated_at.utcoffset().total_seconds() == 0

    # A duplicate event changes nothing, and costs no fetch.
    before = (count(deliveries), count(seen_events), count(subjects), len(owner.fetches))
    duplicate = disclosure.ingest(notifier, [first, first])
    assert duplicate.duplicates == 2 and duplicate.changed == []
    assert (count(deliveries), count(seen_events), count(subjects), len(owner.fetches)) == before

    # The portal run discloses both subjects and raises the ledger.
    assert disclosure.run_channel(notifier, "portal").sent == 2
    assert count(deliveries, deliveries.c.status == "sent", deliveries.c.channel == "portal") == 2
    with Session(notifier.engine) as s:
        rows = s.execute(select(ledger).where(ledger.c.channel == "portal")).all()
    assert {(r.subject_kind, r.subject_id, r.version) for r in rows} == {
        ("procedure", "MB.XD.001", 1),
        ("decision", "3", 1),
    }
    assert all(r.disclosed_at.tzinfo is not None for r in rows)

    # A newer version supersedes; a stale one afterwards changes nothing.
    owner.put("procedure", procedure_state("MB.XD.001", 2))
    assert disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 2)]).changed == [
        ("procedure", "MB.XD.001")
    ]
    stale = disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    assert stale.stale == 1 and stale.changed == []
    assert disclosure.run_channel(notifier, "portal").sent == 1
    with Session(notifier.engine) as s:
        version = s.scalar(
            select(ledger.c.version).where(ledger.c.channel == "portal", ledger.c.subject_id == "MB.XD.001")
        )
    assert version == 2

    # The operator views read the same tables.
    report_body = operations.disclosure_report(notifier)
    assert report_body is not None
    # Every queued channel that is on (dvc is off without NOTIFIER_DVC_URL), e-mail last.
    on = [name for name in QUEUED if name in notifier.channels or name == "email"]
    assert [c["name"] for c in operations.channel_status(notifier)] == on == ["portal", "center", "email"]
    assert disclosure.pump(notifier) == []


class _RendezvousOwner(FakeOwner):
    """Two ingests fetch, then write at the same moment (SQLite would queue them)."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(2)

    def fetch(self, subject: Subject) -> dict[str, Any] | None:
        state = super().fetch(subject)
        self.barrier.wait(timeout=10)
        return state


def test_concurrent_ingests_of_one_new_subject_both_succeed(
    notifier_on_pg: tuple[Parts, FakeOwner],
) -> None:
    notifier, _ = notifier_on_pg
    owner = _RendezvousOwner()
    notifier.owners = OwnerRegistry.single(owner)
    owner.put("procedure", procedure_state("MB.XD.001", 2))
    event = envelope("procedure", "MB.XD.001", 2)
    errors: list[BaseException] = []

    def ingest(batch: list[dict[str, Any]]) -> None:
        try:
            disclosure.ingest(notifier, batch)
        except BaseException as exc:
            errors.append(exc)

    # The same event twice (at-least-once relay) and a second event of the subject.
    threads = [
        threading.Thread(target=ingest, args=([event],)),
        threading.Thread(target=ingest, args=([event, envelope("procedure", "MB.XD.001", 1)],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    with Session(notifier.engine) as s:
        assert s.execute(select(subjects.c.version)).scalars().all() == [2]
        assert s.scalar(select(func.count()).select_from(seen_events)) == 2
