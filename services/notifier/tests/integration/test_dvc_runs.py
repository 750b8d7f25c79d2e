"""dvc channel runs against the stand-in receiver over real HTTP: retries, dead, operator retry."""

import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from minhbach_shared.settings import DEV_DVC_SECRET
from minhbach_testing.dvc_standin import StandinSettings, create_app
from minhbach_testing.notifier import envelope, procedure_state, registry, ticket_answer
from minhbach_testing.plugin import free_port, serving
from notifier.bootstrap import build_parts
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure
from notifier.operations import services as operations


@pytest.fixture
def receiver(tmp_path):
    """The stand-in receiver as a real HTTP server: (base URL, its app)."""
    app = create_app(StandinSettings(file=tmp_path / "received.jsonl"))
    with serving(app) as url:
        yield url, app


def received(url):
    return httpx.get(f"{url}/received", timeout=5).json()


def fail(url, status, retry_after=None):
    told = {"status": status, "retry_after": retry_after}
    assert httpx.post(f"{url}/fail", json=told, timeout=5).status_code == 200


def make_notifier(settings, owner, hotline_owner, celery_app, redis_client, dvc_url, tmp_path, timeout_s=2):
    dvc_settings = settings.model_copy(
        update={
            "dvc_url": dvc_url,
            "var_dir": tmp_path / "var",
            "dvc_max_attempts": 3,
            "dvc_timeout_s": timeout_s,
        }
    )
    return build_parts(
        dvc_settings,
        celery=celery_app,
        owners=registry(owner, hotline=hotline_owner),
        redis=redis_client,
    )


@pytest.fixture
def dvc_notifier(settings, owner, hotline_owner, celery_app, redis_client, receiver, tmp_path):
    service = make_notifier(
        settings, owner, hotline_owner, celery_app, redis_client, f"{receiver[0]}/webhooks/dvc", tmp_path
    )
    yield service
    service.engine.dispose()


def dvc_rows(notifier, status=None):
    with Session(notifier.engine) as s:
        items, _ = repo.page_deliveries(s, status=status, channel="dvc", offset=0, limit=1000)
        return items


def dvc_ledger(notifier):
    with Session(notifier.engine) as s:
        return repo.disclosed(s, channel="dvc")


def later(hours=2):
    return datetime.now(UTC) + timedelta(hours=hours)


def test_delivered_signed_and_in_the_ledger(dvc_notifier, owner, receiver):
    url, _ = receiver
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(dvc_notifier, [envelope("procedure", "MB.XD.001", 1, "procedure.published")])
    assert disclosure.run_channel(dvc_notifier, "dvc").sent == 1
    [item] = received(url)["items"]
    assert item["id"] == "mb_procedure_MB.XD.001_v1"
    assert item["payload"]["type"] == "procedure.published"
    assert item["payload"]["data"]["procedure"]["name"].startswith("Cấp giấy phép xây dựng")
    assert dvc_ledger(dvc_notifier) == {("procedure", "MB.XD.001"): 1}
    report = operations.disclosure_report(dvc_notifier)
    assert report["subjects"][0]["channels"]["dvc"]["state"] == "current"


def test_a_run_sends_each_subject_at_its_newest_reading_only_its_batch(dvc_notifier, owner, receiver):
    url, _ = receiver
    for code in ("MB.XD.001", "MB.XD.002"):
        owner.put("procedure", procedure_state(code, 1))
    disclosure.ingest(dvc_notifier, [envelope("procedure", c, 1) for c in ("MB.XD.001", "MB.XD.002")])
    owner.put("procedure", procedure_state("MB.XD.001", 2))
    disclosure.ingest(dvc_notifier, [envelope("procedure", "MB.XD.001", 2)])
    assert disclosure.run_channel(dvc_notifier, "dvc").sent == 2
    sent = {i["id"]: i["payload"]["data"]["version"] for i in received(url)["items"]}
    assert sent == {"mb_procedure_MB.XD.001_v2": 2, "mb_procedure_MB.XD.002_v1": 1}
    # The webhooks came from the batch's own rows: the process's copy of the whole read
    # model (what the portal and the centre render from) was never read.
    assert dvc_notifier.subjects.log.generation == 0


def test_receiver_503_backs_off_then_dead_then_operator_retry_delivers(dvc_notifier, owner, receiver):
    url, _ = receiver
    fail(url, 503)
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(dvc_notifier, [envelope("procedure", "MB.XD.001", 1)])

    before = datetime.now(UTC)
    first = disclosure.run_channel(dvc_notifier, "dvc")
    assert first.failed == 1 and first.sent == 0
    [row] = dvc_rows(dvc_notifier, "pending")
    assert row.attempts == 1 and "HTTP 503" in (row.last_error or "")
    assert row.next_attempt_at > before, "backed off into the future"
    # Not due yet: a run right now sends nothing.
    assert disclosure.run_channel(dvc_notifier, "dvc", now=row.created_at).failed == 0
    assert disclosure.run_channel(dvc_notifier, "dvc", now=later()).failed == 1
    assert disclosure.run_channel(dvc_notifier, "dvc", now=later(4)).dead == 1
    [dead] = dvc_rows(dvc_notifier, "dead")
    assert dead.attempts == 3
    assert disclosure.pump(dvc_notifier, now=later(6)) == [], "a dead delivery gets no automatic attempts"
    assert received(url)["count"] == 0

    fail(url, None)
    retried = operations.retry_delivery(dvc_notifier, dead.id)
    assert retried.status == "pending" and retried.attempts == 0
    assert disclosure.run_channel(dvc_notifier, "dvc").sent == 1
    assert [i["id"] for i in received(url)["items"]] == ["mb_procedure_MB.XD.001_v1"]
    assert dvc_ledger(dvc_notifier) == {("procedure", "MB.XD.001"): 1}


def test_a_receiver_asking_to_wait_is_not_asked_again_sooner(dvc_notifier, owner, receiver):
    url, _ = receiver
    fail(url, 503, retry_after=900)  # our own backoff after a first failure: seconds
    for code in ("MB.XD.001", "MB.XD.002"):
        owner.put("procedure", procedure_state(code, 1))
    disclosure.ingest(dvc_notifier, [envelope("procedure", c, 1) for c in ("MB.XD.001", "MB.XD.002")])

    before = datetime.now(UTC)
    assert disclosure.run_channel(dvc_notifier, "dvc").failed == 2
    rows = dvc_rows(dvc_notifier, "pending")
    # Both rows wait the 15 minutes the receiver asked for (the second was not even tried).
    assert all(r.next_attempt_at >= before + timedelta(seconds=900) for r in rows)
    assert all(r.next_attempt_at <= before + timedelta(seconds=960) for r in rows)
    fail(url, None)
    assert disclosure.run_channel(dvc_notifier, "dvc", now=before + timedelta(seconds=600)).sent == 0
    assert disclosure.run_channel(dvc_notifier, "dvc", now=before + timedelta(seconds=1000)).sent == 2


def test_receiver_not_listening_fails_the_batch_fast_and_the_portal_goes_on(
    settings, owner, hotline_owner, celery_app, redis_client, tmp_path
):
    closed = f"http://127.0.0.1:{free_port()}/webhooks/dvc"  # nothing listens there
    service = make_notifier(settings, owner, hotline_owner, celery_app, redis_client, closed, tmp_path)
    try:
        for i in range(5):
            owner.put("procedure", procedure_state(f"MB.XD.00{i}", 1))
        disclosure.ingest(service, [envelope("procedure", f"MB.XD.00{i}", 1) for i in range(5)])
        run = disclosure.run_channel(service, "dvc")
        assert (run.failed, run.sent) == (5, 0)
        errors = {r.last_error for r in dvc_rows(service, "pending")}
        assert len(errors) == 1 and "unreachable" in next(iter(errors))
        # One broken channel never holds another back.
        assert disclosure.run_channel(service, "portal").sent == 5
        assert (settings.portal_dir / "thu-tuc" / "MB.XD.004.html").exists()
    finally:
        service.engine.dispose()


def test_newest_version_wins_and_a_resend_is_a_duplicate_at_the_receiver(dvc_notifier, owner, receiver):
    url, _ = receiver
    fail(url, 503)
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(dvc_notifier, [envelope("procedure", "MB.XD.001", 1)])
    disclosure.run_channel(dvc_notifier, "dvc")  # fails: v1 backs off
    owner.put("procedure", procedure_state("MB.XD.001", 2))
    disclosure.ingest(dvc_notifier, [envelope("procedure", "MB.XD.001", 2)])
    fail(url, None)
    assert disclosure.run_channel(dvc_notifier, "dvc", now=later()).sent == 1
    assert [i["id"] for i in received(url)["items"]] == ["mb_procedure_MB.XD.001_v2"]
    assert {r.status for r in dvc_rows(dvc_notifier)} == {"sent", "superseded"}

    # An operator resync sends every subject again: the receiver drops it by webhook-id.
    assert operations.resync(dvc_notifier, "dvc") == 1
    assert disclosure.run_channel(dvc_notifier, "dvc").sent == 1
    state = received(url)
    assert (state["count"], state["duplicates"]) == (1, 1)


def test_tickets_get_no_dvc_row(dvc_notifier, hotline_owner, receiver):
    hotline_owner.put("ticket", ticket_answer())
    disclosure.ingest(dvc_notifier, [envelope("ticket", "PAKN-2026-000123", 1)])
    assert dvc_rows(dvc_notifier) == []
    assert disclosure.run_channel(dvc_notifier, "dvc").sent == 0
    assert received(receiver[0])["count"] == 0


def test_standin_rejects_a_bad_signature(receiver):
    url, _ = receiver
    body = b'{"type":"procedure.amended","data":{}}'
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "mb_procedure_X_v1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(DEV_DVC_SECRET).sign("mb_procedure_X_v1", now, body.decode()),
    }
    ok = httpx.post(f"{url}/webhooks/dvc", content=body, headers=headers, timeout=5)
    assert ok.status_code == 200 and ok.json() == {"accepted": True, "duplicate": False}
    tampered = httpx.post(
        f"{url}/webhooks/dvc", content=body.replace(b"amended", b"abolished"), headers=headers, timeout=5
    )
    assert tampered.status_code == 401
    garbled = httpx.post(
        f"{url}/webhooks/dvc", content=body, headers={**headers, "webhook-signature": "nonsense"}, timeout=5
    )
    assert garbled.status_code == 401
    again = httpx.post(f"{url}/webhooks/dvc", content=body, headers=headers, timeout=5)
    assert again.json() == {"accepted": False, "duplicate": True}
    assert (received(url)["count"], received(url)["rejected"]) == (1, 2)


def test_a_slow_portal_never_holds_the_pump_or_reconcile(
    settings, owner, hotline_owner, celery_app, redis_client, tmp_path
):
    from fastapi import FastAPI, Request

    answering = threading.Event()
    release = threading.Event()
    slow = FastAPI()

    @slow.post("/webhooks/dvc")
    def receive(request: Request) -> dict:
        answering.set()
        release.wait(timeout=10)  # the portal takes its time
        return {"accepted": True}

    with serving(slow) as url:
        service = make_notifier(
            settings, owner, hotline_owner, celery_app, redis_client, f"{url}/webhooks/dvc", tmp_path, 20
        )
        try:
            owner.put("procedure", procedure_state("MB.XD.001", 1))
            disclosure.ingest(service, [envelope("procedure", "MB.XD.001", 1)])
            owner.put("procedure", procedure_state("MB.XD.002", 1))
            worker = threading.Thread(target=disclosure.run_channel, args=(service, "dvc"))
            worker.start()
            assert answering.wait(timeout=10), "the dvc run is under way"
            disclosure.ingest(service, [envelope("procedure", "MB.XD.002", 1)])  # due while the run is long

            started = time.monotonic()
            stalled = datetime.now(UTC) + timedelta(seconds=settings.channel_stall_s + 1)
            # The portal's rows are rescued (nobody runs that channel here); the dvc worker
            # is busy, not stalled: no rescue, no waiting for its lock.
            disclosure.pump(service, now=stalled)
            assert time.monotonic() - started < 2, "the pump waited for the slow portal"
            started = time.monotonic()
            disclosure.reconcile(service)  # dvc cannot be read back: not audited, its lock not taken
            assert time.monotonic() - started < 2, "reconcile waited for the slow portal"
            for code in ("MB.XD.001", "MB.XD.002"):
                assert (settings.portal_dir / "thu-tuc" / f"{code}.html").exists(), "the portal goes on"

            release.set()
            worker.join(timeout=15)
            assert not worker.is_alive()
            assert dvc_ledger(service) == {("procedure", "MB.XD.001"): 1}
            assert disclosure.run_channel(service, "dvc").sent == 1, (
                "the row that waited goes on the next run"
            )
        finally:
            release.set()
            service.engine.dispose()
