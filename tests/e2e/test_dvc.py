"""A procedure's life as the online public service portal (dvc) receives it: signed webhooks.

Real processes from the Procfile: the procedures API, relay and workers, the notifier
and its dvc worker, and the dvc stand-in receiver (the external portal), over HTTP,
against a real redis-server.
"""

from __future__ import annotations

from typing import Any

import httpx
from standardwebhooks import Webhook

from minhbach_shared.auth import Role
from minhbach_testing.harness import System, today_in_vietnam
from minhbach_testing.plugin import wait_until


def webhook_of(system: System, kind: str, subject_id: str, version: int) -> dict[str, Any]:
    """Wait for the receiver to hold (kind, id) at `version`; return what it accepted."""
    wanted = f"mb_{kind}_{subject_id}_v{version}"

    def arrived() -> dict[str, Any] | None:
        return next((i for i in system.dvc_received() if i["id"] == wanted), None)

    try:
        found: dict[str, Any] = wait_until(arrived, timeout=20, interval=0.05, message=f"webhook {wanted}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{system.logs()}") from None
    return found


def verify(system: System, item: dict[str, Any]) -> dict[str, Any]:
    """Check the signature as the external portal would, with the configured secret."""
    verified: dict[str, Any] = Webhook(system.env["NOTIFIER_DVC_SECRET"]).verify(
        item["body"], item["headers"]
    )
    return verified


def put_in_force(system: System, number: str, action: str, code: str) -> str:
    """Decide `action` on `code`, in effect today; the decision's id."""
    published = system.decide(
        number, [{"action": action, "procedure_code": code}], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text
    return str(published.json()["id"])


def test_procedure_put_in_force_amended_and_abolished_reaches_the_portal_signed(
    system: System, procedure_like
):
    name = "Cấp giấy phép di dời công trình xây dựng"
    system.create_procedure(procedure_like("E2E.DVC.1", name))
    decision_id = put_in_force(system, "301/QĐ-SXD", "new", "E2E.DVC.1")

    first = webhook_of(system, "procedure", "E2E.DVC.1", 1)
    body = verify(system, first)
    assert body == first["payload"]
    assert body["type"] == "procedure.published"
    data = body["data"]
    assert data["subject"] == {"kind": "procedure", "id": "E2E.DVC.1"} and data["version"] == 1
    assert data["procedure"]["name"] == name
    assert data["procedure"]["status"] == "in_force"
    assert data["procedure"]["decision"]["number"] == "301/QĐ-SXD"
    assert data["procedure"]["steps"] and data["procedure"]["dossier"]["items"]
    # The link is the portal page the public reads, and it is there.
    assert data["url"] == f"{system.notifier_url}/portal/thu-tuc/E2E.DVC.1.html"
    assert name in system.wait_for_page("thu-tuc/E2E.DVC.1.html", name)
    decision = verify(system, webhook_of(system, "decision", decision_id, 1))
    assert decision["type"] == "decision.published"
    assert decision["data"]["decision"]["number"] == "301/QĐ-SXD"
    assert decision["data"]["decision"]["changes"][0]["procedure_code"] == "E2E.DVC.1"

    with system.procedures() as api:
        edited = api.patch(
            "/v1/procedures/E2E.DVC.1",
            json={"processing_time": {"value": 5, "unit": "working_days"}},
            headers=system.token(Role.EDITOR),
        )
        assert edited.status_code == 200, edited.text
    put_in_force(system, "302/QĐ-SXD", "amend", "E2E.DVC.1")
    amended = verify(system, webhook_of(system, "procedure", "E2E.DVC.1", 2))
    assert amended["type"] == "procedure.amended"
    assert amended["data"]["procedure"]["processing_time"] == {"value": 5, "unit": "working_days"}

    put_in_force(system, "303/QĐ-SXD", "abolish", "E2E.DVC.1")
    abolished = verify(system, webhook_of(system, "procedure", "E2E.DVC.1", 3))
    assert abolished["type"] == "procedure.abolished"
    assert abolished["data"]["procedure"]["status"] == "abolished"
    assert abolished["data"]["procedure"]["decision"]["number"] == "303/QĐ-SXD"

    ids = [i["id"] for i in system.dvc_received() if i["id"].startswith("mb_procedure_E2E.DVC.1_")]
    assert ids == ["mb_procedure_E2E.DVC.1_v1", "mb_procedure_E2E.DVC.1_v2", "mb_procedure_E2E.DVC.1_v3"]
    with system.notifier() as api:
        [channel] = [
            c
            for c in api.get("/v1/channels", headers=system.token(Role.OPERATOR)).json()
            if c["name"] == "dvc"
        ]
    assert channel["health"] == "ok"


def test_the_portal_keeps_going_while_dvc_refuses_and_dvc_catches_up(system: System, procedure_like):
    assert httpx.post(f"{system.dvc_url}/fail", json={"status": 503}, timeout=5).status_code == 200
    try:
        system.create_procedure(procedure_like("E2E.DVC.2", "Cấp chứng chỉ hành nghề hoạt động xây dựng"))
        put_in_force(system, "304/QĐ-SXD", "new", "E2E.DVC.2")
        system.wait_for_page("thu-tuc/E2E.DVC.2.html", "Cấp chứng chỉ hành nghề hoạt động xây dựng")

        def failing() -> bool:
            with system.notifier() as api:
                rows = api.get(
                    "/v1/deliveries",
                    params={"channel": "dvc", "subject_kind": "procedure", "subject_id": "E2E.DVC.2"},
                    headers=system.token(Role.OPERATOR),
                ).json()["items"]
            return bool(rows) and rows[0]["attempts"] >= 1 and "503" in (rows[0]["last_error"] or "")

        wait_until(failing, timeout=20, message="the dvc delivery to fail with 503")
        assert not [i for i in system.dvc_received() if "E2E.DVC.2" in i["id"]]
    finally:
        assert httpx.post(f"{system.dvc_url}/fail", json={"status": None}, timeout=5).status_code == 200
    verify(system, webhook_of(system, "procedure", "E2E.DVC.2", 1))
