"""The public subscription endpoints: JSON for programs, a plain form and pages for people."""

import re

import pytest
from fastapi.testclient import TestClient

from minhbach_testing.notifier import envelope, procedure_state, text_of
from notifier.app import create_app
from notifier.disclosure import services as disclosure
from notifier.owners import OwnerRegistry
from notifier.subscriptions import services as subscribing

CITIZEN = "nguoidan@example.vn"


@pytest.fixture
def client(settings, owner, smtp_port):
    configured = settings.model_copy(update={"smtp_port": smtp_port, "subscribe_rate_limit": 5})
    with TestClient(create_app(configured, owners=OwnerRegistry.single(owner))) as c:
        service = c.app.state.parts
        owner.put("procedure", procedure_state("MB.XD.001", 1))
        disclosure.ingest(service, [envelope("procedure", "MB.XD.001", 1)])
        yield c


def confirm_link(client, inbox) -> str:
    disclosure.run_channel(client.app.state.parts, "email")
    match = re.search(r"(/v1/public/subscriptions/confirm\?token=[\w-]+)", text_of(inbox.to(CITIZEN)[-1]))
    assert match
    return match.group(1)


def test_subscribe_confirm_and_unsubscribe_through_the_pages(client, inbox):
    accepted = client.post(
        "/v1/public/subscriptions", json={"email": "NguoiDan@Example.vn", "procedure_code": "MB.XD.001"}
    )
    assert accepted.status_code == 202 and accepted.json()["status"] == "pending"
    link = confirm_link(client, inbox)

    page = client.get(link)  # what a mail scanner would open: changes nothing
    assert page.status_code == 200 and '<form method="post"' in page.text and 'lang="vi"' in page.text
    service = client.app.state.parts
    token = link.rpartition("=")[2]
    confirmed = client.post(link)
    assert confirmed.status_code == 200 and "Đăng ký đã được xác nhận" in confirmed.text
    assert (
        "thủ tục “Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II” (mã MB.XD.001)"
        in confirmed.text
    )

    gone = client.post(
        f"/v1/public/subscriptions/unsubscribe?token={token}", content="List-Unsubscribe=One-Click"
    )
    assert gone.status_code == 200 and "Đã hủy đăng ký" in gone.text
    again = client.post(link)
    assert again.status_code == 409 and "cancelled" in again.text
    assert subscribing.unsubscribe(service, token).email == CITIZEN  # stored lower-cased


def test_bad_input_is_a_clear_422_naming_the_field(client):
    bad = client.post(
        "/v1/public/subscriptions", json={"email": "not-an-address", "procedure_code": "MB.XD.001"}
    )
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["email"]
    unknown = client.post("/v1/public/subscriptions", json={"email": CITIZEN, "procedure_code": "MB.XX.404"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "procedure_code"
    extra = client.post(
        "/v1/public/subscriptions", json={"email": CITIZEN, "field": "Hoạt động xây dựng", "x": 1}
    )
    assert extra.status_code == 422
    token = client.get("/v1/public/subscriptions/confirm", params={"token": "../../etc"})
    assert token.status_code == 422 and token.json()["errors"][0]["field"] == "query.token"
    unknown_token = client.post("/v1/public/subscriptions/confirm", params={"token": "a" * 32})
    assert unknown_token.status_code == 404 and "Chưa thể thực hiện" in unknown_token.text


def test_the_portal_form_answers_pages_in_vietnamese(client, inbox):
    ok = client.post(
        "/v1/public/subscriptions/form",
        data={"email": CITIZEN, "field": "Hoạt động xây dựng", "procedure_code": ""},
    )
    assert ok.status_code == 200 and "Đã nhận yêu cầu đăng ký" in ok.text
    assert confirm_link(client, inbox)
    bad = client.post(
        "/v1/public/subscriptions/form", data={"email": "khong hop le", "field": "Hoạt động xây dựng"}
    )
    assert bad.status_code == 422 and "Thông tin chưa hợp lệ" in bad.text and "email" in bad.text


def test_a_flood_gets_429_with_retry_after(client):
    codes = [
        client.post(
            "/v1/public/subscriptions", json={"email": f"a{i}@example.vn", "procedure_code": "MB.XD.001"}
        )
        for i in range(7)
    ]
    assert [r.status_code for r in codes] == [202] * 5 + [429] * 2
    assert int(codes[-1].headers["Retry-After"]) > 0
