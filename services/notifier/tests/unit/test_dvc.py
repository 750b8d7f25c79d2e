"""The dvc channel's webhook: payload, Standard Webhooks signature, stable id; its settings."""

import json
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError

from minhbach_shared.components import PROCEDURE_COMPONENTS
from minhbach_shared.settings import DEV_DVC_SECRET
from minhbach_testing.notifier import (
    decision_ref,
    decision_state,
    pending_delivery,
    procedure_state,
    ticket_answer,
)
from minhbach_testing.plugin import serving
from notifier.channels import build_channels
from notifier.channels.base import ReadModel
from notifier.channels.dvc import DvcChannel, payload, webhook_id
from notifier.disclosure.domain import SubjectState
from notifier.settings import Settings

NAME = "Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II"
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def subject(kind, subject_id, state, version=None):
    return SubjectState(
        kind=kind,
        id=subject_id,
        version=version or int(state["version"]),
        state=state,
        updated_at=NOW,
        occurred_at=NOW - timedelta(seconds=1),
    )


def delivery(delivery_id, kind, subject_id, version=1):
    return pending_delivery(delivery_id, "dvc", kind, subject_id, version, at=NOW)


@pytest.fixture
def channel(tmp_path):
    return DvcChannel(
        "http://127.0.0.1:9/webhooks/dvc",
        DEV_DVC_SECRET,
        portal_url="https://soxaydung.thaibinh.gov.vn/portal/",
        clock=lambda: datetime.now(UTC),
    )


def test_procedure_payload_carries_the_public_state_with_vietnamese_intact(channel):
    # The owner sent the name decomposed (NFD): the webhook carries it composed (NFC).
    state = procedure_state("MB.XD.001", 2, name=unicodedata.normalize("NFD", NAME))
    content, headers = channel.request(subject("procedure", "MB.XD.001", state))

    assert NAME.encode("utf-8") in content, "UTF-8 letters as they are, no \\u escapes"
    assert headers["content-type"] == "application/json; charset=utf-8"
    body = json.loads(content)
    assert body["type"] == "procedure.amended"
    assert body["timestamp"] == "2026-11-27T02:59:59Z"
    data = body["data"]
    assert data["subject"] == {"kind": "procedure", "id": "MB.XD.001"}
    assert data["version"] == 2
    assert data["url"] == "https://soxaydung.thaibinh.gov.vn/portal/thu-tuc/MB.XD.001.html"
    p = data["procedure"]
    assert p["name"] == NAME and unicodedata.is_normalized("NFC", p["name"])
    assert (p["code"], p["field"], p["status"]) == ("MB.XD.001", "Hoạt động xây dựng", "in_force")
    # Every component the portal shows.
    # (name and field, NFC-normalised, are checked above.)
    for component in (*PROCEDURE_COMPONENTS[2:], "effective_at", "history"):
        assert p[component] == state[component], component
    assert p["dossier"]["items"][0]["name"] == "Đơn đề nghị cấp giấy phép xây dựng"
    assert p["decision"]["number"] == "22/QĐ-SXD", "the decision that made this version"


def test_an_amendment_says_what_it_changed_in_plain_words_beside_the_structured_changes(channel):
    changes = [
        {
            "component": "processing_time",
            "before": {"value": 20, "unit": "working_days"},
            "after": {"value": 15, "unit": "working_days"},
        },
        {"component": "agency", "before": "Sở Xây dựng", "after": "UBND tỉnh Thái Bình"},
    ]
    state = procedure_state("MB.XD.001", 2)
    state["history"][1]["changes"] = changes
    p = payload(subject("procedure", "MB.XD.001", state), portal_url=channel.portal_url)["data"]["procedure"]
    assert p["what_changed"] == [
        "Thời hạn giải quyết: 20 → 15 ngày làm việc",
        "Cơ quan thực hiện: Sở Xây dựng → UBND tỉnh Thái Bình",
    ]
    assert p["history"][-1]["changes"] == changes

    # The owner gave no summary (first published, or an older state): nothing is claimed.
    first = procedure_state("MB.XD.002", 1)
    assert (
        payload(subject("procedure", "MB.XD.002", first), portal_url="")["data"]["procedure"]["what_changed"]
        is None
    )


def test_abolished_and_replaced_procedures_say_so_with_their_decision(channel):
    abolished = procedure_state(
        "MB.XD.002",
        2,
        status="abolished",
        actions=[("new", decision_ref()), ("abolish", decision_ref(9, "99/QĐ-SXD"))],
    )
    body = payload(subject("procedure", "MB.XD.002", abolished), portal_url=channel.portal_url)
    assert body["type"] == "procedure.abolished"
    assert body["data"]["procedure"]["status"] == "abolished"
    assert body["data"]["procedure"]["decision"]["number"] == "99/QĐ-SXD"

    replaced = procedure_state(
        "MB.XD.003",
        2,
        status="replaced",
        replaced_by="MB.XD.009",
        actions=[("new", decision_ref()), ("replace", decision_ref(8, "88/QĐ-SXD"))],
    )
    body = payload(subject("procedure", "MB.XD.003", replaced), portal_url=channel.portal_url)
    assert body["type"] == "procedure.replaced"
    assert body["data"]["procedure"]["replaced_by"] == "MB.XD.009"
    assert body["data"]["procedure"]["replaced_by_url"].endswith("/portal/thu-tuc/MB.XD.009.html")


def test_decision_payload(channel):
    body = payload(subject("decision", "3", decision_state(3, 1)), portal_url=channel.portal_url)
    assert body["type"] == "decision.published"
    d = body["data"]["decision"]
    assert (d["number"], d["status"]) == ("12/QĐ-SXD", "in_effect")
    assert d["issuer"] == "Chủ tịch UBND tỉnh Thái Bình"
    assert d["changes"][0]["url"].endswith("/portal/thu-tuc/MB.XD.001.html")
    assert body["data"]["url"].endswith("/portal/quyet-dinh/3.html")
    applied = payload(subject("decision", "3", decision_state(3, 2)), portal_url=channel.portal_url)
    assert applied["type"] == "decision.applied"


def test_signature_verifies_with_the_secret_and_a_tampered_body_fails(channel):
    content, headers = channel.request(subject("procedure", "MB.XD.001", procedure_state("MB.XD.001", 1)))
    assert headers["webhook-signature"].startswith("v1,")
    verified = Webhook(DEV_DVC_SECRET).verify(content, headers)
    assert verified["data"]["procedure"]["name"] == NAME

    tampered = content.replace("công trình cấp I".encode(), "công trình cấp III".encode())
    assert tampered != content
    with pytest.raises(WebhookVerificationError):
        Webhook(DEV_DVC_SECRET).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "c2VjcmV0LW9mLWFub3RoZXItcmVjZWl2ZXItMTIzNDU2").verify(content, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(DEV_DVC_SECRET).verify(content, {**headers, "webhook-id": webhook_id(("procedure", "x"), 1)})


def test_webhook_id_is_stable_per_subject_and_version(channel):
    clock = iter([NOW, NOW + timedelta(minutes=3)])
    channel.clock = lambda: next(clock)
    one = subject("procedure", "MB.XD.001", procedure_state("MB.XD.001", 1))
    first = channel.request(one)[1]
    again = channel.request(one)[1]  # a redelivery, later
    assert first["webhook-id"] == again["webhook-id"] == "mb_procedure_MB.XD.001_v1"
    assert first["webhook-timestamp"] != again["webhook-timestamp"]
    assert webhook_id(("procedure", "MB.XD.001"), 2) != first["webhook-id"]
    assert webhook_id(("decision", "3"), 1) == "mb_decision_3_v1"
    assert webhook_id(("procedure", "MB/XD 1"), 1) == "mb_procedure_MB%2FXD%201_v1"


def test_tickets_never_leave(channel):
    assert "ticket" not in channel.kinds
    answer = subject("ticket", "PAKN-2026-000123", ticket_answer())
    model = ReadModel([answer])
    outcomes = channel.deliver([delivery(1, "ticket", "PAKN-2026-000123")], model)
    assert not outcomes[1].ok and "never discloses ticket" in str(outcomes[1].error)
    with pytest.raises(ValueError):
        payload(answer, portal_url=channel.portal_url)


def test_shown_versions_is_nothing_the_ledger_is_the_record(channel):
    model = ReadModel([subject("procedure", "MB.XD.001", procedure_state())])
    assert channel.shown_versions(model) == {}


# -- settings -------------------------------------------------------------------------


def test_channel_is_off_without_a_url(tmp_path):
    assert "dvc" not in build_channels(Settings(dvc_url=None, portal_dir=tmp_path))
    assert "dvc" not in build_channels(Settings(dvc_url="  ", portal_dir=tmp_path))
    on = build_channels(Settings(dvc_url="http://dvc.example/hook", portal_dir=tmp_path, var_dir=tmp_path))
    assert isinstance(on["dvc"], DvcChannel)
    assert on["dvc"].kinds == frozenset({"procedure", "decision"})


def test_production_refuses_the_development_secret_when_the_channel_is_on():
    real = "whsec_" + "cmVhbC1zZWNyZXQtb2YtdGhlLXByb3ZpbmNpYWwtcG9ydGFs"
    hook = "https://dvc.example/hook"
    with pytest.raises(ValidationError, match="NOTIFIER_DVC_SECRET"):
        Settings(environment="production", dvc_url=hook)
    with pytest.raises(ValidationError, match="NOTIFIER_DVC_SECRET"):
        Settings(environment="production", dvc_url=hook, dvc_secret="")
    on = Settings(environment="production", dvc_url=hook, dvc_secret=real)
    assert on.dvc_secret.get_secret_value() == real
    # Off in production (compose's default): the secret does not matter.
    assert Settings(environment="production", dvc_url="", dvc_secret="").dvc_url is None


def test_a_malformed_secret_is_refused():
    for bad in ("not base64!", "whsec_c2hvcnQ="):
        with pytest.raises(ValidationError, match="NOTIFIER_DVC_SECRET"):
            Settings(dvc_secret=bad)


def test_dvc_rows_get_their_own_attempt_budget():
    s = Settings(max_attempts=8, dvc_max_attempts=16)
    assert (s.max_attempts_of("portal"), s.max_attempts_of("dvc")) == (8, 16)


def test_retry_after_reads_seconds_and_http_dates_and_is_bounded():
    from email.utils import format_datetime

    from notifier.channels.dvc import MAX_RETRY_AFTER_S, retry_after

    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert retry_after("120", now=now) == 120
    assert retry_after(format_datetime(now + timedelta(minutes=5), usegmt=True), now=now) == 300
    assert retry_after(format_datetime(now - timedelta(minutes=5), usegmt=True), now=now) == 0
    assert retry_after("99999999", now=now) == MAX_RETRY_AFTER_S
    assert retry_after("soon", now=now) is None
    assert retry_after(None, now=now) is None


def test_webhooks_go_several_at_a_time_and_a_receiver_down_stops_the_batch():
    """A batch of twelve to a real receiver (HTTP, in a thread): at most four requests at
    once, not one after another, each subject once; a receiver answering 503 fails the
    batch after one wave, not twelve requests."""
    import threading
    import time

    from fastapi import FastAPI, Response

    lock, active, peak, seen = threading.Lock(), [0], [0], []
    status = [202]
    receiver = FastAPI()

    @receiver.post("/webhooks/dvc")
    def take(request_body: dict) -> Response:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            seen.append(request_body["data"]["subject"]["id"])
        time.sleep(0.1)
        with lock:
            active[0] -= 1
        return Response(status_code=status[0])

    states = {f"MB.XD.{i:03d}": procedure_state(f"MB.XD.{i:03d}") for i in range(12)}
    model = ReadModel(subject("procedure", code, state) for code, state in states.items())
    batch = [delivery(i, "procedure", code) for i, code in enumerate(states, start=1)]
    with serving(receiver) as url:
        channel = DvcChannel(
            f"{url}/webhooks/dvc", DEV_DVC_SECRET, portal_url="https://soxaydung.thaibinh.gov.vn/portal/"
        )
        started = time.monotonic()
        outcomes = channel.deliver(batch, model)
        took = time.monotonic() - started
        assert all(o.ok for o in outcomes.values()) and len(outcomes) == 12
        assert sorted(seen) == sorted(states) and 2 <= peak[0] <= 4
        assert took < 12 * 0.1 * 0.6, f"{took:.2f} s: one after another"

        seen.clear()
        status[0] = 503
        outcomes = channel.deliver(batch, model)
        channel.close()
    assert all(not o.ok and "503" in (o.error or "") for o in outcomes.values())
    assert 1 <= len(seen) <= 4
