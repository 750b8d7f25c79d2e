"""Hotline feedback to the Department's published answer, and what never leaves (issue 4).

Real processes from the Procfile: the hotline and procedures APIs, relays, workers
and the notifier, against a real redis-server.
"""

from __future__ import annotations

from pathlib import Path

from minhbach_shared.auth import Role
from minhbach_shared.text import fold
from minhbach_testing.harness import System, today_in_vietnam
from minhbach_testing.plugin import wait_until

NAME = "Nguyễn Thị Hồng Nhung"
PERSONAL = [
    NAME,
    "0912 345 678",
    "0912.345.678",
    "+84 912 345 678",
    "84912345678",
    "nhung.nguyen@example.vn",
    "034185001234",  # 12-digit citizen ID
    "151234567",  # 9-digit ID
]
QUESTION = (
    f"Tôi là {NAME}, CCCD 034185001234, CMND 151234567. Hồ sơ cấp phép của tôi nộp từ tháng trước "
    "nhưng chưa có kết quả. Xin gọi 0912 345 678 hoặc 0912.345.678, +84 912 345 678, "
    "84912345678, email nhung.nguyen@example.vn."
)


def handle(system: System, ticket_id: int, action: str, role: Role, body: dict | None = None) -> dict:
    with system.hotline() as api:
        response = api.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=system.token(role))
    assert response.status_code == 200, (action, response.text)
    return dict(response.json())


def portal_files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in root.rglob("*")
        if p.is_file() and p.suffix in {".html", ".xml", ".json"}
    }


def test_answer_is_published_redacted_and_personal_data_never_reaches_the_portal(
    system: System, procedure_like
):
    system.create_procedure(procedure_like("E2E.HL.1", "Cấp giấy phép xây dựng nhà ở riêng lẻ"))
    assert (
        system.decide(
            "401/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.HL.1"}], effective_on=today_in_vietnam()
        ).status_code
        == 200
    )

    with system.hotline() as api:
        logged = api.post(
            "/v1/tickets",
            json={
                "kind": "phan_anh",
                "subject": f"Chậm cấp giấy phép cho {NAME}",
                "body": QUESTION,
                "procedure_code": "E2E.HL.1",
                "name": NAME,
                "phone": "0912345678",
                "email": "nhung.nguyen@example.vn",
                "address": "Số 5 phố Lê Lợi, thành phố Thái Bình",
                "consent_to_publish": True,
                "channel": "phone",
            },
            headers=system.token(Role.HOTLINE),
        )
        assert logged.status_code == 201, logged.text
        ticket = logged.json()
        public_status = api.get(f"/v1/public/tickets/{ticket['tracking_code']}")
    assert public_status.status_code == 200
    assert not [p for p in PERSONAL if p in public_status.text]  # status only

    handle(system, ticket["id"], "accept", Role.HOTLINE)
    handle(system, ticket["id"], "assign", Role.HOTLINE, {"unit": "Phòng Quản lý xây dựng"})
    handle(
        system,
        ticket["id"],
        "answer",
        Role.HOTLINE,
        {
            "answer": f"Sở đã liên hệ bà {NAME} qua số 0912 345 678. "
            "Hồ sơ được trả kết quả trong 5 ngày làm việc."
        },
    )
    with system.hotline() as api:
        preview = api.get(
            f"/v1/tickets/{ticket['id']}/publication-preview", headers=system.token(Role.APPROVER)
        )
    assert preview.status_code == 200
    assert not [p for p in PERSONAL if p in preview.text]  # the approver sees what will leave
    handle(system, ticket["id"], "approve", Role.APPROVER)
    handle(system, ticket["id"], "publish", Role.APPROVER)

    code = ticket["tracking_code"]
    page = system.wait_for_page(f"hoi-dap/{code}.html", "5 ngày làm việc")
    assert "Phòng Quản lý xây dựng" in page
    system.wait_for_page("hoi-dap/index.html", code)
    system.wait_for_page("thu-tuc/E2E.HL.1.html", code)  # linked from the procedure it concerns

    def statistics_counted() -> bool:
        return "Phòng Quản lý xây dựng" in system.portal_page("hoi-dap/thong-ke.html").text

    wait_until(statistics_counted, timeout=20, message="the statistics page to count the unit")

    # Every public channel's files: the portal's and the service centre's (kiosk, notices).
    system.wait_for_page("index.html", "E2E.HL.1", channel="center")
    published = {
        f"{root.name}/{path}": text
        for root in (system.portal_dir, system.center_dir)
        for path, text in portal_files(root).items()
    }
    assert any(path.startswith("center/") for path in published)
    # And every webhook the online public service portal (its stand-in) accepted.
    wait_until(
        lambda: any(r["payload"]["data"]["subject"]["id"] == "E2E.HL.1" for r in system.dvc_received()),
        timeout=20,
        message="the procedure's webhook at the dvc stand-in",
    )
    for received in system.dvc_received():
        published[f"dvc/{received['id']}"] = received["body"]
    for path, text in published.items():
        for secret in PERSONAL:
            assert secret not in text, (path, secret)
            assert fold(secret) not in fold(text), (path, secret)
        assert "Lê Lợi" not in text, path  # the address never leaves either


def test_handling_out_of_order_is_a_409_naming_what_is_allowed(system: System):
    with system.hotline() as api:
        logged = api.post(
            "/v1/tickets",
            json={
                "kind": "kien_nghi",
                "subject": "Kiến nghị đơn giản hoá hồ sơ",
                "body": "Nội dung kiến nghị.",
                "name": "Trần Văn Bình",
                "email": "binh@example.vn",
            },
            headers=system.token(Role.HOTLINE),
        )
        assert logged.status_code == 201, logged.text
        refused = api.post(f"/v1/tickets/{logged.json()['id']}/publish", headers=system.token(Role.APPROVER))
        assert refused.status_code == 409
        assert "accept" in refused.text
        assert api.post(f"/v1/tickets/{logged.json()['id']}/accept").status_code == 401
