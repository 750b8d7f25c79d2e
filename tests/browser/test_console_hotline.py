"""The hotline desk in headless Chromium.

With the keyboard alone (Tab, Enter, Space, typing; the desk's address typed like any
other), an officer logs a phone call (first sent empty: the errors stand beside their
fields), accepts it, assigns it to a unit picked from the Department's list and writes an
answer holding a phone number and a CCCD number; the public preview marks both hidden. An
approver, in another browser, approves that preview, publishes it, then withdraws it with a
reason. The portal (in the browser too) shows the answer without the numbers, the
citizen's one e-mail arrives at a real SMTP server, and after the withdrawal the answer
is gone from its page and from the Q&A list. Then every hotline page (and the admin's
units list) has no serious or critical axe-core violation and does not scroll sideways at
390 px.
"""

from __future__ import annotations

import uuid
from typing import Any

from minhbach_shared.auth import Role
from minhbach_testing.harness import System
from minhbach_testing.notifier import Inbox, text_of
from minhbach_testing.plugin import wait_until
from tests.browser.console_keyboard import main_text, sign_in
from tests.browser.test_console_pages import serious_violations

OFFICE = {"viewport": {"width": 1366, "height": 768}, "locale": "vi-VN"}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "vi-VN",
}
NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def test_a_phone_call_to_its_published_answer_with_the_keyboard_alone(
    system: System, browser: Any, inbox: Inbox
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    citizen = f"lan.{tag.lower()}@example.vn"
    officer_context = browser.new_context(**OFFICE)
    approver_context = browser.new_context(**OFFICE)
    try:
        page = officer_context.new_page()
        keys = sign_in(page, system, "duongday")
        keys.open(f"{system.console_url}/console/hotline")
        keys.activate("Ghi nhận cuộc gọi")

        # Sent empty first: each missing field is named beside it, and in the summary.
        keys.activate("Ghi nhận")
        shown = main_text(page)
        assert "Chưa ghi nhận được" in shown and "Cần nhập tiêu đề." in shown
        assert page.locator("#subject").get_attribute("aria-describedby") == "subject-error"
        assert serious_violations(page) == []

        keys.type_into("Tiêu đề (bắt buộc)", f"Hỏi lệ phí cấp phép {tag}")
        keys.type_into("Nội dung người dân trình bày (bắt buộc)", f"Người gọi hỏi lệ phí ({tag}).")
        keys.type_into("Họ và tên người gọi (bắt buộc)", "Vũ Thị Lan")
        keys.type_into("Số điện thoại", "0977 135 246")
        keys.type_into("Thư điện tử", citizen)
        keys.check("Người gọi đồng ý công khai câu hỏi và câu trả lời (đã ẩn thông tin cá nhân)")
        keys.activate("Ghi nhận")
        assert "Đã ghi nhận cuộc gọi thành phản ánh mới." in main_text(page)
        ticket_url = page.url.split("?")[0]

        keys.activate("Thụ lý")
        assert "Đã thụ lý phản ánh." in main_text(page)
        keys.choose("Đơn vị xử lý (bắt buộc)", "Thanh tra Sở")
        keys.activate("Giao đơn vị")
        assert "Đã giao đơn vị xử lý." in main_text(page)
        assert "Còn hạn" in main_text(page)

        keys.activate("Soạn câu trả lời")
        keys.type_into(
            "Câu trả lời của Sở (bắt buộc)",
            f"Sở đã gọi lại số 0977 135 246, CCCD 034185004321. Lệ phí là 75.000 đồng ({tag}).",
        )
        keys.activate("Lưu câu trả lời và xem bản công khai")
        preview = page.locator("section.public-preview")
        assert "0977 135 246" not in preview.inner_text() and "034185004321" not in preview.inner_text()
        assert preview.locator("mark.redacted").count() >= 3  # the hint's sample, phone, CCCD
        assert f"Lệ phí là 75.000 đồng ({tag})" in preview.inner_text()

        page = approver_context.new_page()
        keys = sign_in(page, system, "pheduyet")
        keys.open(f"{ticket_url}/answer")
        keys.activate("Phê duyệt đúng nội dung này")
        assert "Đã phê duyệt đúng bản công khai này." in main_text(page)
        keys.activate("Đăng lên Cổng thông tin")
        assert "Đã đăng câu trả lời." in main_text(page)
        link = page.get_by_role("link", name="xem trang hỏi đáp", exact=False)
        answer_url = str(link.get_attribute("href"))
        assert "/hoi-dap/PAKN-" in answer_url
        answer_path = answer_url.split("/portal/", 1)[1]
        system.wait_for_page(answer_path, f"Lệ phí là 75.000 đồng ({tag})", timeout=20)
        portal = officer_context.new_page()
        portal.goto(f"{system.pages_url}/portal/{answer_path}")
        public = portal.inner_text("main")
        assert f"Lệ phí là 75.000 đồng ({tag})" in public
        assert "0977 135 246" not in public and "034185004321" not in public and "Vũ Thị Lan" not in public
        wait_until(lambda: inbox.to(citizen), timeout=20, message="the citizen's reply e-mail")
        assert f"Lệ phí là 75.000 đồng ({tag})" in text_of(inbox.to(citizen)[0])

        keys.open(ticket_url)
        keys.type_into("Lý do gỡ (bắt buộc)", f"Câu trả lời cần sửa ({tag})")
        keys.activate("Gỡ câu trả lời")
        shown = main_text(page)
        assert "Đã gỡ câu trả lời khỏi Cổng thông tin" in shown and f"Câu trả lời cần sửa ({tag})" in shown
        # One portal run writes the answer's page, then the lists: wait for the list.
        wait_until(
            lambda: tag not in system.portal_page("hoi-dap/index.html").text,
            timeout=20,
            message="the answer leaves the Q&A list",
        )
        portal.goto(f"{system.pages_url}/portal/{answer_path}")
        assert f"75.000 đồng ({tag})" not in portal.inner_text("main")
        portal.goto(f"{system.pages_url}/portal/hoi-dap/index.html")
        assert tag not in portal.inner_text("main")
        assert len(inbox.to(citizen)) == 1  # one e-mail per answer
    finally:
        officer_context.close()
        approver_context.close()


def ticket_in(system: System, tag: str, steps: list[tuple[str, Role, dict[str, Any] | None]]) -> int:
    with system.hotline() as api:
        logged = api.post(
            "/v1/tickets",
            json={
                "kind": "kien_nghi",
                "channel": "phone",
                "subject": f"Kiến nghị thử giao diện {tag}",
                "body": f"Gọi 0912 000 111 về việc niêm yết thủ tục ({tag}).",
                "name": "Phan Văn Bình",
                "phone": "0912000111",
                "consent_to_publish": True,
            },
            headers=system.token(Role.HOTLINE, subject="duongday"),
        )
        assert logged.status_code == 201, logged.text
        ticket_id = int(logged.json()["id"])
        for action, role, body in steps:
            done = api.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=system.token(role))
            assert done.status_code == 200, (action, done.text)
    return ticket_id


def test_every_hotline_page_is_accessible_and_fits_a_phone(system: System, browser: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    with system.hotline() as api:
        added = api.post("/v1/units", json={"name": f"Phòng thử {tag}"}, headers=system.token(Role.ADMIN))
        assert added.status_code == 201, added.text
    received = ticket_in(system, tag, [])
    handled = [
        ("accept", Role.HOTLINE, None),
        ("assign", Role.HOTLINE, {"unit": f"Phòng thử {tag}"}),
        ("answer", Role.HOTLINE, {"answer": f"Sở đã gọi 0912 000 111 ({tag})."}),
    ]
    answered = ticket_in(system, tag, handled)
    published = ticket_in(
        system, tag, [*handled, ("approve", Role.APPROVER, None), ("publish", Role.APPROVER, None)]
    )
    common = [
        "/console/hotline",
        "/console/hotline?status=all",
        f"/console/hotline?status=assigned&unit=Ph%C3%B2ng+th%E1%BB%AD+{tag}",
        *(f"/console/hotline/{t}" for t in (received, answered, published)),
        *(f"/console/hotline/{t}/answer" for t in (received, answered, published)),
    ]
    pages = {"duongday": [*common, "/console/hotline/new"], "pheduyet": common, "quantri": ["/console/units"]}
    problems: dict[str, list[str]] = {}
    wide: list[str] = []
    for username, paths in pages.items():
        for options, check in ((OFFICE, "axe"), (PHONE, "width")):
            context = browser.new_context(**options)
            try:
                page = context.new_page()
                sign_in(page, system, username)
                for path in paths:
                    answer = page.goto(f"{system.console_url}{path}")
                    assert answer is not None and answer.status == 200, (username, path)
                    if check == "axe" and (found := serious_violations(page)):
                        problems[f"{username} {path}"] = found
                    if check == "width" and not page.evaluate(NO_SIDEWAYS):
                        wide.append(f"{username} {path}")
            finally:
                context.close()
    assert problems == {}
    assert wide == []
