"""The staff queue (GET /v1/tickets) as the console's hotline desk reads it: filters by
status (any of several), unit, kind and channel, and the nearest running deadline first."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ..conftest import ticket_body


def log(client: TestClient, hotline: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/tickets", json=ticket_body(**overrides), headers=hotline)
    assert response.status_code == 201, response.text
    return dict(response.json())


def act(client: TestClient, hotline: dict[str, str], ticket_id: int, action: str, body: Any = None) -> None:
    response = client.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=hotline)
    assert response.status_code == 200, response.text


def listed(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/tickets", headers=headers, params={"size": 100, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_filters_by_kind_channel_and_several_statuses(
    client: TestClient, hotline: dict[str, str], approver: dict[str, str]
) -> None:
    call = log(client, hotline, channel="phone")
    letter = log(client, hotline, channel="letter", kind="kien_nghi")
    done = log(client, hotline, channel="phone", kind="kien_nghi")
    act(client, hotline, done["id"], "reject", {"reason": "Không thuộc thẩm quyền của Sở"})

    phone = listed(client, approver, channel="phone")
    assert {t["id"] for t in phone} == {call["id"], done["id"]}
    assert all(t["channel"] == "phone" for t in phone)
    assert [t["id"] for t in listed(client, hotline, kind="kien_nghi", channel="letter")] == [letter["id"]]
    both = listed(client, hotline, status=["received", "rejected"])
    assert {t["id"] for t in both} == {call["id"], letter["id"], done["id"]}
    assert [t["id"] for t in listed(client, hotline, status=["rejected"])] == [done["id"]]
    assert client.get("/v1/tickets", headers=hotline, params={"channel": "fax"}).status_code == 422
    assert client.get("/v1/tickets", headers=hotline, params={"order": "random"}).status_code == 422


def test_order_due_puts_the_nearest_running_deadline_first(
    client: TestClient, hotline: dict[str, str]
) -> None:
    received = log(client, hotline)  # classify within 5 working days
    accepted = log(client, hotline)  # answer within 10 working days
    act(client, hotline, accepted["id"], "accept")
    soon = log(client, hotline)  # its unit's own date: tomorrow-ish, before the others
    act(client, hotline, soon["id"], "accept")
    later_unit = client.get(f"/v1/tickets/{accepted['id']}", headers=hotline).json()["answer_due_on"]
    act(
        client,
        hotline,
        soon["id"],
        "assign",
        {"unit": "Phòng Quản lý xây dựng", "due_on": received["classify_due_on"]},
    )
    closed = log(client, hotline)  # no clock runs: last
    act(client, hotline, closed["id"], "reject", {"reason": "Không thuộc thẩm quyền"})

    items = listed(client, hotline, order="due")
    order = [t["id"] for t in items]
    assert order[-1] == closed["id"] and items[-1]["due_on"] is None
    dues = [t["due_on"] for t in items if t["due_on"] is not None]
    assert dues == sorted(dues)
    assert order.index(received["id"]) < order.index(accepted["id"])
    assert order.index(soon["id"]) < order.index(accepted["id"])
    assert next(t for t in items if t["id"] == accepted["id"])["due_on"] == later_unit
    # The default stays the newest first.
    assert listed(client, hotline)[0]["id"] == closed["id"]
