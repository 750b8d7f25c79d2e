"""A corpus of personal data put into questions and answers never leaves through a public door.

Reads every public endpoint and every outbox row (the only way events leave).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from hotline.settings import Settings

from ..conftest import outbox_envelopes, ticket_body

NAME = "Hoàng Thị Thu Hương"
CORPUS = [
    NAME,
    "Hoang Thi Thu Huong",
    "0912 345 678",
    "0912.345.678",
    "0912-345-678",
    "+84 912 345 678",
    "84912345678",
    "(024) 3826 1234",
    "0227 3831 234",
    "huong.hoang@example.vn",
    "034089001234",
    "151234567",
    "xóm 7 thôn Tân Lập",
]
CONTACT = {
    "phone": "0987 654 321",
    "email": "thu.huong@example.com",
    "address": "Số 8 ngõ 2 phố Hai Bà Trưng",
}


def _texts(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _leaks(text: str) -> list[str]:
    found = [item for item in [*CORPUS, *CONTACT.values(), "0987654321"] if item in text]
    found += [d for d in ("912345678", "38261234", "3831234") if d in re.sub(r"[\s.\-()+]", "", text)]
    return found


def test_personal_data_never_leaves(
    client: TestClient, hotline: dict[str, str], approver: dict[str, str], settings: Settings
) -> None:
    question = (
        f"Tôi là {NAME} (viết không dấu: Hoang Thi Thu Huong), ở xóm 7 thôn Tân Lập. Số điện thoại "
        + ", ".join(CORPUS[2:9])
        + f", email huong.hoang@example.vn, CCCD 034089001234, CMND cũ 151234567. "
        f"Liên hệ {CONTACT['phone']}, {CONTACT['email']}, {CONTACT['address']}. "
        "Hỏi về lệ phí cấp giấy phép xây dựng 150.000 đồng."
    )
    receipt = client.post(
        "/v1/public/tickets",
        json=ticket_body(name=NAME, subject=f"Câu hỏi của {NAME}", body=question, **CONTACT),
    ).json()
    code = receipt["tracking_code"]
    tid = client.get("/v1/tickets", headers=hotline).json()["items"][0]["id"]
    base = f"/v1/tickets/{tid}"
    assert client.post(f"{base}/accept", headers=hotline).status_code == 200
    assert (
        client.post(
            f"{base}/public-text", json={"redact": ["xóm 7 thôn Tân Lập"]}, headers=hotline
        ).status_code
        == 200
    )
    assert client.post(f"{base}/assign", json={"unit": "Văn phòng Sở"}, headers=hotline).status_code == 200
    answer = (
        f"Kính gửi bà {NAME} (SĐT 0912 345 678): lệ phí là 150.000 đồng; "
        f"xin liên hệ lại qua {CONTACT['email']}."
    )
    assert client.post(f"{base}/answer", json={"answer": answer}, headers=hotline).status_code == 200
    preview = client.get(f"{base}/publication-preview", headers=approver).json()
    assert not _leaks(_texts(preview)), _leaks(_texts(preview))
    assert "150.000 đồng" in preview["answer"]
    assert (
        client.post(
            f"{base}/approve", json={"preview_digest": preview["digest"]}, headers=approver
        ).status_code
        == 200
    )
    assert client.post(f"{base}/publish", headers=approver).status_code == 200

    # Staff still see everything.
    staff = client.get(base, headers=hotline).json()
    assert staff["submitter"]["phone"] == CONTACT["phone"] and NAME in staff["body"]

    public = [
        receipt,
        client.get(f"/v1/public/tickets/{code}").json(),
        client.get(f"/v1/public/answers/{code}").json(),
        client.get("/v1/public/answers").json(),
        client.get("/v1/public/answers", params={"q": "le phi"}).json(),
        client.get("/v1/public/statistics").json(),
        client.get("/v1/sync/versions").json(),
    ]
    assert client.get("/v1/public/answers", params={"q": "le phi"}).json()["total"] == 1
    for body in public:
        assert not _leaks(_texts(body)), (_leaks(_texts(body)), body)
    envelopes = outbox_envelopes(settings)
    assert [e["type"] for e in envelopes] == ["ticket.answered", "ticket.published"]
    # The reply e-mail's event carries the citizen's address, in reply_to and nowhere else;
    # no other event carries anything personal.
    answered, _published = envelopes
    assert answered["data"].pop("reply_to") == CONTACT["email"]
    assert not _leaks(_texts(envelopes)), envelopes
