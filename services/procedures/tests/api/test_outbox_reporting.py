"""An owner tells its operators how far behind its outbox is: /metrics and GET /v1/ops/outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from minhbach_shared.auth import Role
from minhbach_shared.outbox import OutboxRelay
from minhbach_testing.tokens import bearer
from procedures.db import outbox
from procedures.settings import Settings

from .test_procedures_api import create, decision_body, new, publish


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body = client.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def backdate_outbox(settings: Settings, seconds: float) -> None:
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE outbox SET created_at = :at"),
            {"at": (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(sep=" ")},
        )
    engine.dispose()


def test_a_stuck_outbox_shows_on_metrics_and_to_operators(
    client: TestClient,
    settings: Settings,
    editor: dict[str, str],
    approver: dict[str, str],
    sample: dict[str, dict[str, Any]],
) -> None:
    create(client, editor, sample["MB.XD.001"])
    publish(client, editor, approver, decision_body(new("MB.XD.001")))
    owner = (("owner", "procedures"),)
    seen = samples(client)
    unsent = seen[("mb_outbox_unsent_rows", owner)]
    assert unsent > 0  # the decision's events, no relay running
    assert seen[("mb_database_up", (("service", "procedures"),))] == 1
    # Nothing relays them for two minutes: the age says so (the alert's threshold is 60 s).
    backdate_outbox(settings, 120)
    assert samples(client)[("mb_outbox_oldest_unsent_age_seconds", owner)] >= 120
    operator = bearer(Role.OPERATOR, subject="op", service="procedures")
    report = client.get("/v1/ops/outbox", headers=operator).json()
    assert report["owner"] == "procedures" and report["unsent"] == unsent
    assert report["oldest_age_s"] >= 120 and report["last_sent_at"] is None
    # The relay catches up: nothing unsent, no age, and when it last sent.
    sent: list[list[dict[str, Any]]] = []
    engine = create_engine(settings.database_url)
    OutboxRelay(engine=engine, table=outbox, send=sent.append).drain()
    engine.dispose()
    seen = samples(client)
    assert seen[("mb_outbox_unsent_rows", owner)] == 0
    assert seen[("mb_outbox_oldest_unsent_age_seconds", owner)] == 0
    report = client.get("/v1/ops/outbox", headers=operator).json()
    assert report["unsent"] == 0 and report["oldest_unsent_at"] is None and report["last_sent_at"]


def test_only_operators_read_the_outbox(client: TestClient, editor: dict[str, str]) -> None:
    assert client.get("/v1/ops/outbox").status_code == 401
    assert client.get("/v1/ops/outbox", headers=editor).status_code == 403
