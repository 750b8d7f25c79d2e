"""owners.py against a real HTTP server."""

import httpx
import pytest
from sqlalchemy.orm import Session

from minhbach_shared.events import Subject
from minhbach_testing.notifier import (
    article_state,
    decision_state,
    document_state,
    envelope,
    hotline_statistics,
    procedure_state,
    ticket_answer,
)
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure
from notifier.owners import http_registry
from notifier.settings import Settings


def held_version(notifier, key):
    with Session(notifier.engine) as session:
        return repo.subject_versions(session, [key]).get(key)


@pytest.fixture
def registry(owner_server):
    registry = http_registry({"procedures": owner_server}, timeout_s=2)
    yield registry
    registry.close()


def test_fetch_versions_and_404(registry, owner):
    owner.put("procedure", procedure_state("MB.XD.001", 2))
    owner.put("decision", decision_state(3, 1))
    client = registry.for_kind("procedure")
    assert registry.for_kind("decision") is client and registry.for_kind("ticket") is None
    assert client.fetch(Subject(kind="procedure", id="MB.XD.001"))["version"] == 2
    assert client.fetch(Subject(kind="decision", id="3"))["number"] == "12/QĐ-SXD"
    assert client.fetch(Subject(kind="procedure", id="MB.XD.404")) is None
    assert sorted(client.versions()) == [("decision", "3", 1), ("procedure", "MB.XD.001", 2)]


def test_a_burst_is_fetched_in_batches_not_one_request_per_subject(registry, owner, notifier):
    notifier.owners = registry
    codes = [f"MB.XD.{n:03d}" for n in range(250)]
    for code in codes:
        owner.put("procedure", procedure_state(code, 1, name=f"Thủ tục {code}"))
    owner.put("decision", decision_state(3, 1))
    report = disclosure.ingest(
        notifier,
        [envelope("procedure", code, 1) for code in codes]
        + [envelope("decision", "3", 1), envelope("procedure", "MB.XD.404", 1)],
    )
    assert len(report.changed) == 251 and report.dropped == 1  # the unknown one: a 404 in the batch
    assert owner.requests == ["POST /v1/sync/states"] * 2  # 252 subjects: 200 + 52
    assert held_version(notifier, ("procedure", "MB.XD.249")) == 1


def test_content_kinds_are_served_by_the_content_owner(owner_server, owner):
    registry = http_registry({"procedures": owner_server, "content": owner_server}, timeout_s=2)
    try:
        owner.put("article", article_state(7, 3))
        owner.put("document", document_state(3, 2, number="61/2018/NĐ-CP"))
        content = registry.for_kind("article")
        assert registry.for_kind("document") is content and registry.for_kind("procedure") is not content
        assert content.fetch(Subject(kind="article", id="7"))["version"] == 3
        assert content.fetch(Subject(kind="document", id="3"))["number"] == "61/2018/NĐ-CP"
        assert content.fetch(Subject(kind="article", id="404")) is None
    finally:
        registry.close()


def test_bootstrap_registers_the_content_and_hotline_owners(settings, celery_app, redis_client):
    from notifier.bootstrap import build_parts

    service = build_parts(
        settings.model_copy(
            update={"content_url": "http://127.0.0.1:9", "hotline_url": "http://127.0.0.1:9"}
        ),
        celery=celery_app,
        redis=redis_client,
    )
    try:
        assert sorted(service.owners.owners) == ["content", "hotline", "procedures"]
        assert service.owners.kinds == {
            "procedure": "procedures",
            "decision": "procedures",
            "article": "content",
            "document": "content",
            "ticket": "hotline",
        }
        assert Settings().hotline_url == "http://127.0.0.1:8003"
    finally:
        service.owners.close()
        service.engine.dispose()


def test_server_error_is_an_httpx_error(registry, owner):
    owner.put("procedure", procedure_state("MB.XD.001", 1) | {"_fail": True})
    with pytest.raises(httpx.HTTPStatusError):
        registry.for_kind("procedure").fetch(Subject(kind="procedure", id="MB.XD.001"))


def test_unreachable_owner_is_an_httpx_error():
    registry = http_registry({"procedures": "http://127.0.0.1:9"}, timeout_s=0.5)
    with pytest.raises(httpx.HTTPError):
        registry.for_kind("procedure").fetch(Subject(kind="procedure", id="MB.XD.001"))


def test_ingest_over_http(notifier, registry, owner, settings):
    notifier.owners = registry
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    assert disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)]).changed == [
        ("procedure", "MB.XD.001")
    ]
    disclosure.run_channel(notifier, "portal")
    assert (settings.portal_dir / "thu-tuc" / "MB.XD.001.html").exists()


def test_ticket_kind_is_served_by_the_hotline_owner(owner_server, owner):
    registry = http_registry({"procedures": owner_server, "hotline": owner_server}, timeout_s=2)
    try:
        owner.put("ticket", ticket_answer("PAKN-2026-000123", 2))
        owner.documents["statistics"] = hotline_statistics()
        hotline = registry.for_kind("ticket")
        assert hotline is not registry.for_kind("procedure")
        assert hotline.fetch(Subject(kind="ticket", id="PAKN-2026-000123"))["version"] == 2
        assert hotline.fetch(Subject(kind="ticket", id="PAKN-2026-000404")) is None
        assert hotline.document("statistics")["hotline"]["phones"] == ["0227 3831 234"]
        assert ("ticket", "PAKN-2026-000123", 2) in hotline.versions()
        owner.documents.clear()
        assert hotline.document("statistics") is None
    finally:
        registry.close()
