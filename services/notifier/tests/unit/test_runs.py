"""Channel runs: retries and dead letters, operator retry, pump, reconcile, resync."""

import shutil
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from minhbach_testing.notifier import decision_state, envelope, procedure_state
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure
from notifier.operations import services as operations


def rows(notifier, **kw):
    with Session(notifier.engine) as s:
        items, _ = repo.page_deliveries(s, status=kw.get("status"), channel="portal", offset=0, limit=1000)
        return items


def ledger_of(notifier):
    with Session(notifier.engine) as s:
        return repo.disclosed(s, channel="portal")


def later():
    return datetime.now(UTC) + timedelta(hours=2)


def test_failing_channel_retries_then_dies_and_operator_retry_delivers(notifier, owner, settings):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    # The portal directory's parent is a file: every write fails for real.
    blocker = settings.portal_dir.parent / "blocked"
    blocker.write_text("not a directory")
    notifier.channels["portal"].root = blocker / "portal"
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])

    first = disclosure.run_channel(notifier, "portal")
    assert first.failed == 1
    [row] = rows(notifier, status="pending")
    assert row.attempts == 1 and row.last_error and row.next_attempt_at > row.created_at
    # Not due yet: a run right now does nothing.
    assert disclosure.run_channel(notifier, "portal", now=row.created_at).failed == 0
    assert disclosure.run_channel(notifier, "portal", now=later()).failed == 1
    assert disclosure.run_channel(notifier, "portal", now=later()).dead == 1
    [dead] = rows(notifier, status="dead")
    assert dead.attempts == settings.max_attempts
    assert disclosure.pump(notifier, now=later()) == [], "a dead delivery gets no automatic attempts"
    status = operations.channel_status(notifier)[0]
    assert status["dead"] == 1 and status["health"] == "degraded"

    notifier.channels["portal"].root = settings.portal_dir
    retried = operations.retry_delivery(notifier, dead.id)
    assert retried.status == "pending" and retried.attempts == 0
    assert disclosure.run_channel(notifier, "portal").sent == 1
    assert ledger_of(notifier) == {("procedure", "MB.XD.001"): 1}
    assert rows(notifier, status="dead") == []


def test_pump_requeues_due_work_after_a_lost_message(notifier, owner, redis_client, portal_queue_depth):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    redis_client.flushall()  # Redis restarted without persistence: message and flag gone
    assert portal_queue_depth() == 0
    assert disclosure.pump(notifier) == ["portal", "center"]  # every channel that shows a procedure
    assert disclosure.pump(notifier) == [], "the flag coalesces a second pump tick"
    assert portal_queue_depth() == 1


def test_pump_delivers_itself_when_the_channel_worker_stalls(notifier, owner, settings, portal_queue_depth):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    page = settings.portal_dir / "thu-tuc" / "MB.XD.001.html"
    # Nobody consumes channel.portal here: a dead or deaf worker.
    assert disclosure.pump(notifier) == [] and not page.exists(), "a fresh row waits for its worker"
    stalled = datetime.now(UTC) + timedelta(seconds=settings.channel_stall_s + 1)
    disclosure.pump(notifier, now=stalled)
    assert 'content="1"' in page.read_text(encoding="utf-8")
    assert ledger_of(notifier) == {("procedure", "MB.XD.001"): 1}
    assert rows(notifier, status="pending") == []


def test_ledger_never_lowers_and_old_deliveries_are_superseded(notifier, owner):
    owner.put("procedure", procedure_state("MB.XD.001", 2))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 2)])
    disclosure.run_channel(notifier, "portal")
    with Session(notifier.engine) as s:
        s.connection()
        repo.add_delivery(
            s,
            channel="portal",
            key=("procedure", "MB.XD.001"),
            version=1,
            now=datetime.now(UTC),
            occurred_at=None,
        )
        repo.raise_ledger(
            s, channel="portal", versions={("procedure", "MB.XD.001"): 1}, now=datetime.now(UTC)
        )
        s.commit()
    report = disclosure.run_channel(notifier, "portal")
    assert report.superseded == 1 and report.sent == 0
    assert ledger_of(notifier) == {("procedure", "MB.XD.001"): 2}


def test_reconcile_repairs_a_missing_subject(notifier, owner, settings):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    disclosure.run_channel(notifier, "portal")
    # Two changes whose events were lost after Redis acknowledged them.
    owner.put("procedure", procedure_state("MB.XD.001", 2))
    owner.put("decision", decision_state(3, 1))
    report = disclosure.reconcile(notifier)
    assert sorted(report.fetched) == [("decision", "3"), ("procedure", "MB.XD.001")]
    disclosure.run_channel(notifier, "portal")
    assert (
        '<meta name="mb:version" content="2">' in (settings.portal_dir / "thu-tuc/MB.XD.001.html").read_text()
    )
    assert (settings.portal_dir / "quyet-dinh/3.html").exists()
    # Converged: the next round finds nothing and costs one versions() call.
    fetches = len(owner.fetches)
    again = disclosure.reconcile(notifier)
    assert again.fetched == [] and again.redelivered == {"portal": [], "center": []}
    assert len(owner.fetches) == fetches


def test_reconcile_redelivers_a_page_deleted_behind_its_back(notifier, owner, settings):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    disclosure.run_channel(notifier, "portal")
    (settings.portal_dir / "thu-tuc/MB.XD.001.html").unlink()
    assert disclosure.reconcile(notifier).redelivered["portal"] == [("procedure", "MB.XD.001")]
    disclosure.run_channel(notifier, "portal")
    assert (settings.portal_dir / "thu-tuc/MB.XD.001.html").exists()


def test_reconcile_survives_an_unreachable_owner(notifier, owner):
    owner.down = True
    assert disclosure.reconcile(notifier).unreachable == ["procedures"]


def test_resync_rebuilds_a_wiped_portal(notifier, owner, settings):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    owner.put("decision", decision_state(3, 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1), envelope("decision", "3", 1)])
    disclosure.run_channel(notifier, "portal")
    shutil.rmtree(settings.portal_dir)
    assert operations.resync(notifier, "portal") == 2
    assert ledger_of(notifier) == {}
    assert disclosure.run_channel(notifier, "portal").sent == 2
    for page in (
        "index.html",
        "thu-tuc/index.html",
        "thu-tuc/MB.XD.001.html",
        "quyet-dinh/3.html",
        "feed.xml",
    ):
        assert (settings.portal_dir / page).exists(), page
    assert len(ledger_of(notifier)) == 2


def test_disclosure_report(notifier, owner):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    report = operations.disclosure_report(notifier)
    assert report["missing"][0]["id"] == "MB.XD.001"
    disclosure.run_channel(notifier, "portal")
    owner.put("procedure", procedure_state("MB.XD.001", 2))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 2)])
    report = operations.disclosure_report(notifier)
    assert report["stale"] == [
        {"channel": "portal", "kind": "procedure", "id": "MB.XD.001", "version": 2, "disclosed": 1}
    ]
    assert report["time_to_disclose"]["portal"]["count"] == 1
    assert report["time_to_disclose"]["portal"]["p50"] >= 0


def test_reconcile_repairs_a_page_damaged_into_bytes_that_are_not_text(notifier, owner, settings):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    disclosure.run_channel(notifier, "portal")
    page = settings.portal_dir / "thu-tuc/MB.XD.001.html"
    page.write_bytes(b"\xff\xfe\x00garbage" * 100)
    assert disclosure.reconcile(notifier).redelivered["portal"] == [("procedure", "MB.XD.001")]
    disclosure.run_channel(notifier, "portal")
    assert '<meta name="mb:version" content="1">' in page.read_text(encoding="utf-8")
