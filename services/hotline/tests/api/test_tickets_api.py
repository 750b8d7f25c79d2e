"""The hotline API end to end through FastAPI on a real SQLite file, Redis and procedures stand-in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hotline.settings import Settings
from minhbach_testing.plugin import free_port

from ..conftest import outbox_envelopes, ticket_body


def submit(client: TestClient, **overrides: Any) -> str:
    response = client.post("/v1/public/tickets", json=ticket_body(**overrides))
    assert response.status_code == 202, response.text
    return str(response.json()["tracking_code"])


def ticket_id(client: TestClient, hotline: dict[str, str], code: str) -> int:
    page = client.get("/v1/tickets", headers=hotline, params={"size": 100}).json()
    return next(t["id"] for t in page["items"] if t["tracking_code"] == code)


def post(
    client: TestClient, path: str, headers: dict[str, str], body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_full_happy_path(
    client: TestClient, hotline: dict[str, str], approver: dict[str, str], settings: Settings
) -> None:
    code = submit(client)
    assert re.fullmatch(r"PAKN-\d{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code)
    assert submit(client) != code  # random: no sequence to count

    status = client.get(f"/v1/public/tickets/{code}").json()
    assert status["status"] == "received" and status["classify_due_on"]

    tid = ticket_id(client, hotline, code)
    full = client.get(f"/v1/tickets/{tid}", headers=hotline).json()
    assert full["submitter"]["phone"] == "0912 345 678" and full["channel"] == "web"
    assert full["allowed_actions"] == ["accept", "reject", "forward", "wait", "mark-duplicate"]

    base = f"/v1/tickets/{tid}"
    accepted = post(client, f"{base}/accept", hotline, {"note": "đúng thẩm quyền"})
    assert accepted["answer_due_on"]
    post(client, f"{base}/assign", hotline, {"unit": "Phòng Quản lý xây dựng"})
    post(client, f"{base}/wait", hotline, {"reason": "Đề nghị bổ sung số hồ sơ"})
    assert client.get(f"/v1/public/tickets/{code}").json()["reason"] == "Đề nghị bổ sung số hồ sơ"
    post(client, f"{base}/resume", hotline)
    post(
        client,
        f"{base}/answer",
        hotline,
        {"answer": "Kính gửi bà Trần Thị Bình: hồ sơ đã được giải quyết ngày 20/11.", "redact": ["Lê Lợi"]},
    )
    preview = client.get(f"{base}/publication-preview", headers=approver).json()
    assert "Trần Thị Bình" not in preview["answer"] and "[đã ẩn]" in preview["answer"]
    approved = post(client, f"{base}/approve", approver, {"preview_digest": preview["digest"]})
    assert approved["approved_by"] == "leader-minh"
    published = post(client, f"{base}/publish", approver)
    # Version 1 is the citizen's reply e-mail (ticket.answered), 2 the public answer.
    assert published["is_public"] and published["version"] == 2

    answer = client.get(f"/v1/public/answers/{code}").json()
    assert answer["id"] == code and answer["version"] == 2 and answer["status"] == "published"
    assert answer["question"] == preview["question"] and answer["answer"] == preview["answer"]
    assert answer["unit"] == "Phòng Quản lý xây dựng" and answer["procedure_code"] == "MB.XD.001"
    found = client.get("/v1/public/answers", params={"q": "giay phep xay dung"}).json()
    assert [a["id"] for a in found["items"]] == [code]
    assert client.get("/v1/public/answers", params={"procedure_code": "MB.XD.002"}).json()["total"] == 0
    assert client.get("/v1/sync/versions").json() == {
        "subjects": [{"kind": "ticket", "id": code, "version": 2}]
    }
    public = client.get(f"/v1/public/tickets/{code}").json()
    assert public["status"] == "published" and public["answer_url"] == f"/v1/public/answers/{code}"

    closed = post(client, f"{base}/close", hotline)
    assert closed["status"] == "closed" and closed["allowed_actions"] == [
        "withdraw"
    ]  # its answer is still public
    assert client.get(f"/v1/public/answers/{code}").status_code == 200  # closing keeps the answer public
    steps = [(t["action"], t["from_status"], t["to_status"], t["actor"]) for t in closed["transitions"]]
    assert steps == [
        ("receive", None, "received", "citizen"),
        ("accept", "received", "accepted", "officer-lan"),
        ("assign", "accepted", "assigned", "officer-lan"),
        ("wait", "assigned", "waiting_for_citizen", "officer-lan"),
        ("resume", "waiting_for_citizen", "assigned", "officer-lan"),
        ("answer", "assigned", "answered", "officer-lan"),
        ("approve", "answered", "approved", "leader-minh"),
        ("publish", "approved", "published", "leader-minh"),
        ("close", "published", "closed", "officer-lan"),
    ]
    assert closed["transitions"][1]["note"] == "đúng thẩm quyền"

    reply, event = outbox_envelopes(settings)
    assert (reply["type"], reply["version"], reply["data"]["reply_to"]) == (
        "ticket.answered",
        1,
        "binh.tran@example.vn",
    )
    assert event["type"] == "ticket.published" and event["source"] == "hotline"
    assert event["subject"] == {"kind": "ticket", "id": code} and event["version"] == 2


def test_disallowed_transitions_get_409_with_the_allowed_ones(
    client: TestClient, hotline: dict[str, str], approver: dict[str, str]
) -> None:
    tid = ticket_id(client, hotline, submit(client))
    response = client.post(f"/v1/tickets/{tid}/answer", json={"answer": "x"}, headers=hotline)
    assert response.status_code == 409
    body = response.json()
    assert "allowed now: accept, reject, forward, wait, mark-duplicate" in body["detail"]
    assert body["errors"][0]["allowed"] == ["accept", "reject", "forward", "wait", "mark-duplicate"]
    assert client.post(f"/v1/tickets/{tid}/publish", headers=approver).status_code == 409
    post(
        client,
        f"/v1/tickets/{tid}/reject",
        hotline,
        {"reason": "Nội dung là khiếu nại, đề nghị gửi theo thủ tục khiếu nại."},
    )
    again = client.post(f"/v1/tickets/{tid}/accept", headers=hotline)
    assert again.status_code == 409 and again.json()["errors"][0]["allowed"] == ["close"]


def test_every_write_needs_the_right_role(
    client: TestClient, hotline: dict[str, str], approver: dict[str, str], editor: dict[str, str]
) -> None:
    tid = ticket_id(client, hotline, submit(client))
    assert client.post("/v1/tickets", json=ticket_body()).status_code == 401
    assert client.post("/v1/tickets", json=ticket_body(), headers=editor).status_code == 403
    assert client.post("/v1/tickets", json=ticket_body(), headers=approver).status_code == 403
    assert client.get(f"/v1/tickets/{tid}").status_code == 401
    assert client.get(f"/v1/tickets/{tid}", headers=editor).status_code == 403
    assert client.get(f"/v1/tickets/{tid}", headers=approver).status_code == 200
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.post(f"/v1/tickets/{tid}/accept", headers=bad).status_code == 401
    for action in ("accept", "reject", "forward", "assign", "wait", "resume", "answer", "mark-duplicate"):
        assert client.post(f"/v1/tickets/{tid}/{action}", json={}).status_code == 401, action
        assert client.post(f"/v1/tickets/{tid}/{action}", json={}, headers=approver).status_code == 403, (
            action
        )
        assert client.post(f"/v1/tickets/{tid}/{action}", json={}, headers=editor).status_code == 403, action
    for action in ("approve", "publish"):
        assert client.post(f"/v1/tickets/{tid}/{action}").status_code == 401, action
        assert client.post(f"/v1/tickets/{tid}/{action}", headers=hotline).status_code == 403, action
    assert client.post(f"/v1/tickets/{tid}/close", headers=editor).status_code == 403


def test_an_officer_logs_a_call(client: TestClient, hotline: dict[str, str]) -> None:
    body = ticket_body(channel="phone", email=None, redact=["tổ dân phố 5"], note="gọi lúc 9 giờ")
    body["body"] += " Tôi ở tổ dân phố 5."
    response = client.post("/v1/tickets", json=body, headers=hotline)
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["channel"] == "phone" and ticket["transitions"][0]["actor"] == "officer-lan"
    assert "tổ dân phố 5" in ticket["body"] and "tổ dân phố 5" not in ticket["public_question"]
    assert "gọi lúc 9 giờ" in ticket["internal_notes"]


def test_contact_and_sizes_are_checked_and_named(client: TestClient) -> None:
    response = client.post("/v1/public/tickets", json=ticket_body(phone=None, email=None))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "phone"
    response = client.post("/v1/public/tickets", json=ticket_body(subject="x" * 301))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "subject"
    response = client.post("/v1/public/tickets", json=ticket_body(body="y" * 10_001))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"
    response = client.post("/v1/public/tickets", json=ticket_body(email="not-an-email"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "email"
    response = client.post("/v1/public/tickets", json=ticket_body(kind="khieu_nai"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "kind"
    huge = client.post(
        "/v1/public/tickets",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413


def test_procedure_code_is_checked_against_the_procedures_api(
    client: TestClient, hotline: dict[str, str]
) -> None:
    response = client.post("/v1/public/tickets", json=ticket_body(procedure_code="MB.XD.999"))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "procedure_code", "message": "no published procedure has the code MB.XD.999"}
    ]
    assert client.get("/v1/tickets", headers=hotline).json()["total"] == 0
    assert submit(client, procedure_code=None)


@pytest.fixture
def settings_without_procedures(make_settings: Any, redis_server: Any) -> Settings:
    settings: Settings = make_settings(redis_server.url, procedures_url=f"http://127.0.0.1:{free_port()}")
    return settings


def test_procedures_api_down_is_503_and_nothing_is_stored(settings_without_procedures: Settings) -> None:
    from hotline.app import create_app
    from minhbach_shared.auth import Role

    from ..conftest import token

    with TestClient(create_app(settings_without_procedures), raise_server_exceptions=False) as client:
        response = client.post("/v1/public/tickets", json=ticket_body())
        assert response.status_code == 503
        assert (
            "cannot be reached" in response.json()["detail"]
            and "nothing was stored" in response.json()["detail"]
        )
        staff = token(settings_without_procedures, Role.HOTLINE)
        assert client.get("/v1/tickets", headers=staff).json()["total"] == 0
        # Without a procedure code there is nothing to check: accepted.
        assert client.post("/v1/public/tickets", json=ticket_body(procedure_code=None)).status_code == 202


def test_duplicate_follows_the_original(
    client: TestClient, hotline: dict[str, str], approver: dict[str, str]
) -> None:
    first, second = submit(client), submit(client, consent_to_publish=False)
    first_id, second_id = ticket_id(client, hotline, first), ticket_id(client, hotline, second)
    bad = client.post(
        f"/v1/tickets/{second_id}/mark-duplicate", json={"duplicate_of": second}, headers=hotline
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "duplicate_of"
    marked = post(client, f"/v1/tickets/{second_id}/mark-duplicate", hotline, {"duplicate_of": first})
    assert marked["status"] == "duplicate" and marked["duplicate_of"] == first
    post(client, f"/v1/tickets/{first_id}/accept", hotline)
    follower = client.get(f"/v1/public/tickets/{second}").json()
    assert follower["status"] == "accepted" and follower["duplicate_of"] == first
    assert client.post(f"/v1/tickets/{second_id}/accept", headers=hotline).status_code == 409


def test_forwarded_with_a_reason_the_citizen_sees(client: TestClient, hotline: dict[str, str]) -> None:
    code = submit(client)
    tid = ticket_id(client, hotline, code)
    post(
        client,
        f"/v1/tickets/{tid}/forward",
        hotline,
        {
            "agency": "Sở Tài nguyên và Môi trường",
            "reason": "Thuộc thẩm quyền của Sở Tài nguyên và Môi trường",
        },
    )
    status = client.get(f"/v1/public/tickets/{code}").json()
    assert status["status"] == "forwarded" and status["forwarded_to"] == "Sở Tài nguyên và Môi trường"
    assert status["reason"].startswith("Thuộc thẩm quyền")


def test_approval_refuses_a_stale_preview(
    client: TestClient, hotline: dict[str, str], approver: dict[str, str]
) -> None:
    tid = ticket_id(client, hotline, submit(client))
    for action, body in (
        ("accept", None),
        ("assign", {"unit": "Phòng Kinh tế và Vật liệu xây dựng"}),
        ("answer", {"answer": "Trả lời A"}),
    ):
        post(client, f"/v1/tickets/{tid}/{action}", hotline, body)
    digest = client.get(f"/v1/tickets/{tid}/publication-preview", headers=approver).json()["digest"]
    post(client, f"/v1/tickets/{tid}/answer", hotline, {"answer": "Trả lời B"})
    stale = client.post(f"/v1/tickets/{tid}/approve", json={"preview_digest": digest}, headers=approver)
    assert stale.status_code == 409 and "review it again" in stale.json()["detail"]


def test_not_found_and_bad_codes(client: TestClient, hotline: dict[str, str]) -> None:
    assert client.get("/v1/public/tickets/PAKN-2026-999999").status_code == 404
    assert client.get("/v1/public/tickets/not-a-code").status_code == 422
    assert client.get("/v1/public/answers/PAKN-2026-999999").status_code == 404
    assert client.get("/v1/tickets/999", headers=hotline).status_code == 404
    assert client.post("/v1/tickets/999/accept", headers=hotline).status_code == 404
