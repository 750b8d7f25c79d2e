"""A citizen follows a procedure by e-mail, end to end: the portal's form, the confirmation
link, the change e-mail after a decision, one-click unsubscribe. Real processes from the
Procfile, a real redis-server and a real SMTP server (aiosmtpd) where the notifier sends mail.
"""

from __future__ import annotations

import re

import httpx

from minhbach_shared.auth import Role
from minhbach_testing.harness import System, today_in_vietnam
from minhbach_testing.notifier import Inbox, text_of
from minhbach_testing.plugin import wait_until

CITIZEN = "theodoi@example.vn"


def mails(inbox: Inbox, subject_starts: str) -> list[str]:
    return [text_of(m) for m in inbox.to(CITIZEN) if str(m["Subject"]).startswith(subject_starts)]


def amend(system: System, code: str, number: str, days: int) -> None:
    with system.procedures() as api:
        edited = api.patch(
            f"/v1/procedures/{code}",
            json={"processing_time": {"value": days, "unit": "working_days"}},
            headers=system.token(Role.EDITOR),
        )
        assert edited.status_code == 200, edited.text
    decided = system.decide(
        number, [{"action": "amend", "procedure_code": code}], effective_on=today_in_vietnam()
    )
    assert decided.status_code == 200, decided.text


def test_follow_a_procedure_from_its_portal_page_to_the_change_email(system: System, procedure_like, inbox):
    system.create_procedure(procedure_like("E2E.SUB.1", "Cấp giấy phép xây dựng có thời hạn"))
    system.decide(
        "501/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.SUB.1"}], effective_on=today_in_vietnam()
    )
    page = system.wait_for_page("thu-tuc/E2E.SUB.1.html", "Đăng ký nhận thông báo")
    action = re.search(r'<form method="post" action="([^"]+)" class="pakn">', page)
    assert action and action.group(1) == f"{system.notifier_url}/v1/public/subscriptions/form"

    # What the browser sends when the citizen submits the form.
    answered = httpx.post(action.group(1), data={"procedure_code": "E2E.SUB.1", "email": CITIZEN}, timeout=10)
    assert answered.status_code == 200 and "Đã nhận yêu cầu đăng ký" in answered.text
    confirm = wait_until(lambda: mails(inbox, "Xác nhận"), timeout=20, message="the confirmation e-mail")[0]
    link = re.search(r"(http://\S+/confirm\?token=[\w-]+)", confirm)
    assert link, confirm
    assert httpx.post(link.group(1), timeout=10).status_code == 200

    amend(system, "E2E.SUB.1", "502/QĐ-SXD", days=12)
    change = wait_until(lambda: mails(inbox, "Thay đổi"), timeout=30, message="the change e-mail")
    assert len(change) == 1
    assert "Sửa đổi, bổ sung: Cấp giấy phép xây dựng có thời hạn (mã E2E.SUB.1, phiên bản 2)" in change[0]
    assert "Theo Quyết định số 502/QĐ-SXD" in change[0]
    assert f"{system.notifier_url}/portal/thu-tuc/E2E.SUB.1.html" in change[0]

    [mail] = [m for m in inbox.to(CITIZEN) if str(m["Subject"]).startswith("Thay đổi")]
    one_click = re.fullmatch(r"<(.+)>", str(mail["List-Unsubscribe"]))
    assert one_click
    gone = httpx.post(one_click.group(1), content="List-Unsubscribe=One-Click", timeout=10)
    assert gone.status_code == 200 and "Đã hủy đăng ký" in gone.text

    # After unsubscribing, the next change is disclosed everywhere and mailed to nobody.
    amend(system, "E2E.SUB.1", "503/QĐ-SXD", days=9)
    system.wait_for_page("thu-tuc/E2E.SUB.1.html", "9 ngày làm việc")
    with system.notifier() as api:
        rows = api.get(
            "/v1/deliveries",
            params={"channel": "email", "subject_id": "E2E.SUB.1"},
            headers=system.token(Role.OPERATOR),
        ).json()
    assert [(r["version"], r["status"]) for r in rows["items"]] == [(2, "sent")]
    assert len(mails(inbox, "Thay đổi")) == 1
