"""The notifier API over a real SQLite file and redis-server."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from minhbach_shared.auth import Role
from minhbach_testing.notifier import envelope, procedure_state
from minhbach_testing.tokens import bearer
from notifier.app import create_app
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure
from notifier.disclosure.domain import DeliveryStatus
from notifier.owners import OwnerRegistry


@pytest.fixture
def client(settings, owner):
    with TestClient(create_app(settings, owners=OwnerRegistry.single(owner))) as c:
        yield c


@pytest.fixture
def op(settings):
    return auth(settings, Role.OPERATOR)


@pytest.fixture
def service(client):
    return client.app.state.parts


def auth(settings, role):
    return bearer(role, subject="t", service="notifier")


def publish(service, owner, code="MB.XD.001", version=1):
    owner.put("procedure", procedure_state(code, version))
    disclosure.ingest(service, [envelope("procedure", code, version)])


def test_platform_endpoints(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ok"
    assert "mb_http_requests_total" in client.get("/metrics").text


def test_channels_show_backlog_and_lag(client, service, owner, op):
    publish(service, owner)
    # E-mail is listed too (its backlog and dead rows), after the disclosure channels.
    portal, center, email = client.get("/v1/channels", headers=op).json()
    assert email["name"] == "email" and email["backlog"] == 0
    assert portal["name"] == "portal" and portal["backlog"] == 1 and portal["health"] == "ok"
    assert center["name"] == "center" and center["backlog"] == 1
    assert portal["lag_s"] >= 0
    disclosure.run_channel(service, "portal")
    assert client.get("/v1/channels", headers=op).json()[0]["backlog"] == 0


def test_deliveries_page_and_filter(client, service, owner, op):
    publish(service, owner, "MB.XD.001")
    publish(service, owner, "MB.XD.002")
    page = client.get(
        "/v1/deliveries", headers=op, params={"status": "pending", "channel": "portal", "size": 1}
    ).json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["size"] == 1
    assert client.get("/v1/deliveries", headers=op, params={"status": "sent"}).json()["total"] == 0
    one = client.get(
        "/v1/deliveries", headers=op, params={"subject_kind": "procedure", "subject_id": "MB.XD.002"}
    ).json()
    assert sorted((d["subject_id"], d["channel"]) for d in one["items"]) == [
        ("MB.XD.002", "center"),
        ("MB.XD.002", "portal"),
    ]
    bad = client.get("/v1/deliveries", headers=op, params={"status": "nope", "size": 0})
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {
        "query.status",
        "query.size",
    }


def test_operator_endpoints_need_the_operator_role(client, settings):
    for path in ("/v1/deliveries/1/retry", "/v1/channels/portal/resync", "/v1/channels/portal/retry"):
        assert client.post(path).status_code == 401
        assert client.post(path, headers={"Authorization": "Bearer junk"}).status_code == 401
        assert client.post(path, headers=auth(settings, Role.EDITOR)).status_code == 403


def test_operator_reads_need_a_token_and_the_role(client, settings, service, owner):
    """Deliveries name their subjects and errors: never anonymous, and every one of them an
    operator's to list. Editors and approvers may follow one subject (the console's tracker),
    told which channels show it."""
    publish(service, owner)
    for path in ("/v1/deliveries", "/v1/channels", "/v1/disclosure/report", "/v1/ops/queues"):
        assert client.get(path).status_code == 401, path
        for role in (Role.HOTLINE, Role.EDITOR, Role.APPROVER):
            assert client.get(path, headers=auth(settings, role)).status_code == 403, (path, role)
        assert client.get(path, headers=auth(settings, Role.OPERATOR)).status_code == 200, path
    one = {"subject_kind": "procedure", "subject_id": "MB.XD.001"}
    for role in (Role.EDITOR, Role.APPROVER, Role.OPERATOR):
        page = client.get("/v1/deliveries", params=one, headers=auth(settings, role))
        assert page.status_code == 200 and page.json()["channels"] == ["portal", "center", "email"], role
        assert {d["subject_id"] for d in page.json()["items"]} == {"MB.XD.001"}
    assert client.get("/v1/deliveries", params=one).status_code == 401
    kind_only = client.get(
        "/v1/deliveries", params={"subject_kind": "procedure"}, headers=auth(settings, Role.EDITOR)
    )
    assert kind_only.status_code == 403


def test_retry_and_resync(client, service, owner, op):
    assert client.post("/v1/deliveries/999/retry", headers=op).status_code == 404
    assert client.post("/v1/channels/fax/resync", headers=op).status_code == 404
    publish(service, owner)
    disclosure.run_channel(service, "portal")
    [sent] = client.get("/v1/deliveries", headers=op, params={"status": "sent", "channel": "portal"}).json()[
        "items"
    ]
    conflict = client.post(f"/v1/deliveries/{sent['id']}/retry", headers=op)
    assert conflict.status_code == 409 and "sent" in conflict.json()["detail"]
    response = client.post("/v1/channels/portal/resync", headers=op)
    assert response.status_code == 202 and response.json() == {"channel": "portal", "deliveries": 1}
    [pending] = client.get(
        "/v1/deliveries", headers=op, params={"status": "pending", "channel": "portal"}
    ).json()["items"]
    assert client.post(f"/v1/deliveries/{pending['id']}/retry", headers=op).json()["status"] == "pending"


def test_retry_a_channel_retries_its_dead_and_failed_rows_only(client, service, owner, op):
    assert client.post("/v1/channels/fax/retry", headers=op).status_code == 404
    for code in ("MB.XD.001", "MB.XD.002", "MB.XD.003"):
        publish(service, owner, code)
    rows = client.get("/v1/deliveries", headers=op, params={"channel": "portal"}).json()["items"]
    dead, failed, fresh = sorted(rows, key=lambda d: d["subject_id"])
    later = datetime(2030, 1, 1, tzinfo=UTC)
    with service.write() as session:
        repo.mark_failed(
            session, dead["id"], attempts=9, status=DeliveryStatus.DEAD, next_at=later, error="x"
        )
        repo.mark_failed(
            session, failed["id"], attempts=2, status=DeliveryStatus.PENDING, next_at=later, error="y"
        )
        session.commit()
    portal = client.get("/v1/channels", headers=op).json()[0]
    assert (portal["dead"], portal["failed"], portal["health"]) == (1, 1, "failing")

    response = client.post("/v1/channels/portal/retry", headers=op)
    assert response.status_code == 202 and response.json() == {"channel": "portal", "retried": 2}
    after = {
        d["id"]: d
        for d in client.get("/v1/deliveries", headers=op, params={"channel": "portal"}).json()["items"]
    }
    assert {after[dead["id"]]["status"], after[failed["id"]]["status"]} == {"pending"}
    assert after[dead["id"]]["attempts"] == after[failed["id"]]["attempts"] == 0
    assert after[fresh["id"]] == fresh
    # The other channels' rows are not touched; nothing left to retry answers 0.
    assert client.post("/v1/channels/center/retry", headers=op).json()["retried"] == 0
    assert client.post("/v1/channels/portal/retry", headers=op).json()["retried"] == 0


def test_disclosure_report_and_queues(client, service, owner, op):
    publish(service, owner)
    report = client.get("/v1/disclosure/report", headers=op).json()
    assert report["subjects"][0]["channels"]["portal"]["state"] == "missing"
    disclosure.run_channel(service, "portal")
    report = client.get("/v1/disclosure/report", headers=op).json()
    assert report["subjects"][0]["channels"]["portal"] | {"disclosed_at": None} == {
        "version": 1,
        "state": "current",
        "disclosed_at": None,
    }
    assert report["time_to_disclose"]["portal"]["count"] == 1
    assert report["ticket_overdue"] == {"count": 0, "tickets": 0, "latest_received_at": None}
    # The direct run above cleared the flag, so this change queues a second message.
    publish(service, owner, "MB.XD.002")
    queues = {q["queue"]: q for q in client.get("/v1/ops/queues", headers=op).json()["queues"]}
    assert set(queues) == {
        "events",
        "channel.portal",
        "channel.center",
        "channel.dvc",
        "channel.email",
        "notifier",
        "procedures",
        "content",
        "hotline",
    }
    assert queues["channel.portal"]["depth"] == 2
    assert queues["channel.portal"]["oldest_age_s"] is not None
    assert queues["events"]["depth"] == 0 and queues["events"]["oldest_age_s"] is None


def test_portal_is_served(client, service, owner):
    publish(service, owner)
    disclosure.run_channel(service, "portal")
    home = client.get("/portal/")
    assert home.status_code == 200 and "text/html" in home.headers["content-type"]
    assert "Cải cách hành chính" in home.text
    page = client.get("/portal/thu-tuc/MB.XD.001.html")
    assert page.status_code == 200 and 'data-version="1"' in page.text


def test_center_is_served(client, service, owner):
    publish(service, owner)
    disclosure.run_channel(service, "center")
    board = client.get("/center/")
    assert board.status_code == 200 and "Thủ tục hành chính đang có hiệu lực" in board.text
    notice = client.get("/center/thu-tuc/MB.XD.001.html")
    assert notice.status_code == 200 and 'data-version="1"' in notice.text


def test_a_procedures_preview_is_its_portal_page_for_staff_only(client, settings):
    content = {**procedure_state("MB.XD.077", 0), "name": "Thủ tục chưa công bố", "status": "draft"}
    preview = client.post("/v1/preview/procedure", json=content, headers=auth(settings, Role.EDITOR))
    assert preview.status_code == 200 and preview.headers["content-type"].startswith("text/html")
    assert "Thủ tục chưa công bố" in preview.text and '<dl class="components">' in preview.text
    approver = client.post("/v1/preview/procedure", json=content, headers=auth(settings, Role.APPROVER))
    assert approver.status_code == 200
    # Nothing is written: the portal has no page for it.
    assert not (settings.portal_dir / "thu-tuc" / "MB.XD.077.html").exists()
    assert client.post("/v1/preview/procedure", json=content).status_code == 401
    assert (
        client.post("/v1/preview/procedure", json=content, headers=auth(settings, Role.HOTLINE)).status_code
        == 403
    )
    assert (
        client.post(
            "/v1/preview/procedure", json={"name": "x"}, headers=auth(settings, Role.EDITOR)
        ).status_code
        == 422
    )
