"""The units list over HTTP (admins keep it, anyone reads it) and the approver's withdrawal."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hotline.settings import Settings
from minhbach_shared.auth import Role

from ..conftest import ticket_body, token


def test_an_admin_keeps_the_units_list_and_nobody_else_can(client: TestClient, settings: Settings) -> None:
    admin = token(settings, Role.ADMIN, subject="quantri")
    officer = token(settings, Role.HOTLINE)
    listed = client.get("/v1/units").json()["items"]
    assert "Phòng Quản lý xây dựng" in [u["name"] for u in listed] and all(u["active"] for u in listed)

    assert client.post("/v1/units", json={"name": "Phòng Thẩm định"}, headers=officer).status_code == 403
    assert client.post("/v1/units", json={"name": "Phòng Thẩm định"}).status_code == 401
    added = client.post("/v1/units", json={"name": "  Phòng   Thẩm định "}, headers=admin)
    assert added.status_code == 201 and added.json()["name"] == "Phòng Thẩm định"
    clash = client.post("/v1/units", json={"name": "phòng thẩm định"}, headers=admin)
    assert clash.status_code == 422 and clash.json()["errors"][0]["field"] == "name"
    assert client.post("/v1/units", json={"name": ""}, headers=admin).status_code == 422

    unit_id = added.json()["id"]
    assert client.patch(f"/v1/units/{unit_id}", json={"active": False}, headers=officer).status_code == 403
    retired = client.patch(f"/v1/units/{unit_id}", json={"active": False}, headers=admin).json()
    assert retired == {"id": unit_id, "name": "Phòng Thẩm định", "active": False}
    assert client.get("/v1/units").json()["items"][-1]["name"] == "Phòng Thẩm định"  # retired ones last
    assert client.patch("/v1/units/9999", json={"active": True}, headers=admin).status_code == 404


def test_assignment_takes_only_a_unit_in_service(
    client: TestClient, settings: Settings, hotline: dict[str, str]
) -> None:
    client.post("/v1/public/tickets", json=ticket_body())
    tid = client.get("/v1/tickets", headers=hotline).json()["items"][0]["id"]
    assert client.post(f"/v1/tickets/{tid}/accept", headers=hotline).status_code == 200
    free_text = client.post(f"/v1/tickets/{tid}/assign", json={"unit": "Phòng ABC"}, headers=hotline)
    assert free_text.status_code == 422
    assert free_text.json()["errors"] == [
        {"field": "unit", "message": "not one of the Department's units; pick one from the list"}
    ]
    assigned = client.post(
        f"/v1/tickets/{tid}/assign", json={"unit": "phòng quản lý xây dựng"}, headers=hotline
    )
    assert assigned.json()["unit"] == "Phòng Quản lý xây dựng"  # named as the list names it


def test_only_an_approver_withdraws_a_published_answer_and_it_leaves_every_public_read(
    client: TestClient, hotline: dict[str, str], approver: dict[str, str]
) -> None:
    code = client.post("/v1/public/tickets", json=ticket_body()).json()["tracking_code"]
    tid = client.get("/v1/tickets", headers=hotline).json()["items"][0]["id"]
    for action, body in (
        ("accept", None),
        ("assign", {"unit": "Văn phòng Sở"}),
        ("answer", {"answer": "Hồ sơ đã được giải quyết."}),
    ):
        assert client.post(f"/v1/tickets/{tid}/{action}", json=body, headers=hotline).status_code == 200
    for action in ("approve", "publish"):
        assert client.post(f"/v1/tickets/{tid}/{action}", headers=approver).status_code == 200
    assert client.get(f"/v1/public/answers/{code}").status_code == 200

    by_officer = client.post(f"/v1/tickets/{tid}/withdraw", json={"reason": "Sai"}, headers=hotline)
    assert by_officer.status_code == 403
    no_reason = client.post(f"/v1/tickets/{tid}/withdraw", json={"reason": " "}, headers=approver)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    withdrawn = client.post(
        f"/v1/tickets/{tid}/withdraw", json={"reason": "Câu trả lời còn lộ số nhà"}, headers=approver
    ).json()
    assert (
        withdrawn["status"] == "withdrawn" and withdrawn["withdrawal_reason"] == "Câu trả lời còn lộ số nhà"
    )
    assert withdrawn["transitions"][-1]["actor"] == "leader-minh"

    assert client.get(f"/v1/public/answers/{code}").status_code == 404
    assert client.get("/v1/public/answers").json()["total"] == 0
    assert client.get("/v1/sync/versions").json()["subjects"] == []
    status = client.get(f"/v1/public/tickets/{code}").json()
    assert status["status"] == "withdrawn" and status["answer_url"] is None
