"""The hotline desk against the running system (hotline, notifier, their workers, the
console): an officer logs a phone call, accepts and assigns it, writes an answer holding a
phone number and a 12-digit citizen ID (CCCD) and sees both hidden and marked in the public
preview; an approver approves exactly that preview and publishes it; the portal's answer
page shows the answer without them; the citizen's one e-mail arrives at a real SMTP
server; the approver withdraws the answer and it leaves the portal's pages. The units are
the admin's list. The rules (states, roles, redaction, the preview's digest) are the
hotline API's: the pages only offer what the role and the state allow.

The system is shared with other tests: every subject and unit here carries a fragment of
its own."""

from __future__ import annotations

import re
import uuid

import httpx

from minhbach_testing.harness import System
from minhbach_testing.notifier import Inbox, text_of
from minhbach_testing.plugin import wait_until

OFFICER, APPROVER, EDITOR, ADMIN = "duongday", "pheduyet", "bientap", "quantri"
PHONE, CCCD = "0913 246 802", "034185007788"
MARK = '<mark class="redacted">[đã ẩn]</mark>'


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def public_part(page: httpx.Response) -> str:
    """The composer's "Bản sẽ công khai" column."""
    start = page.text.index('id="public-title"')
    return page.text[start : page.text.index("</section>", start)]


def test_a_phone_call_from_intake_to_the_published_answer_and_its_withdrawal(
    system: System, inbox: Inbox
) -> None:
    tag = uuid.uuid4().hex[:8]
    unit = f"Phòng thử đường dây nóng {tag}"
    citizen = f"khanh.{tag}@example.vn"
    with system.console(ADMIN) as admin:
        units = admin.get("/console/units")
        added = admin.post("/console/units", data={"csrf_token": csrf(units), "name": unit})
        assert added.status_code == 303, added.text
        assert unit in admin.get(added.headers["location"]).text
    with system.console(OFFICER) as officer:
        form = officer.get("/console/hotline/new")
        assert form.status_code == 200, form.text
        logged = officer.post(
            "/console/hotline/new",
            data={
                "csrf_token": csrf(form),
                "kind": "phan_anh",
                "channel": "phone",
                "subject": f"Hỏi thời hạn cấp phép {tag}",
                "body": f"Người gọi hỏi hồ sơ cấp phép nộp đã lâu ({tag}).",
                "name": "Đỗ Văn Khánh",
                "phone": "0987 111 222",
                "email": citizen,
                "consent_to_publish": "1",
                "note": "gọi lúc 9 giờ",
            },
        )
        assert logged.status_code == 303, logged.text
        ticket_path = logged.headers["location"].split("?")[0]
        ticket_id = int(ticket_path.rsplit("/", 1)[1])
        page = officer.get(logged.headers["location"])
        assert "Đã ghi nhận cuộc gọi" in page.text and "Mới tiếp nhận" in page.text
        assert "Còn hạn" in page.text  # classify within 5 working days
        for action in ("accept", "reject", "forward", "wait", "mark-duplicate", "note"):
            assert f'action="{ticket_path}/{action}"' in page.text, action
        assert f'action="{ticket_path}/assign"' not in page.text  # not before it is accepted

        token = csrf(page)
        accepted = officer.post(f"{ticket_path}/accept", data={"csrf_token": token, "note": f"đúng {tag}"})
        assert accepted.status_code == 303, accepted.text
        missing = officer.post(f"{ticket_path}/assign", data={"csrf_token": token, "unit": ""})
        assert missing.status_code == 422 and 'id="assign-unit-error"' in missing.text
        assert f'<option value="{unit}">' in missing.text  # picked from the Department's list
        free_text = officer.post(f"{ticket_path}/assign", data={"csrf_token": token, "unit": f"Phòng {tag}"})
        assert free_text.status_code == 422 and "Chọn một đơn vị trong danh sách" in free_text.text
        assigned = officer.post(f"{ticket_path}/assign", data={"csrf_token": token, "unit": unit})
        assert assigned.status_code == 303, assigned.text

        # The queue: by unit and status, with the deadline in words.
        queue = officer.get(
            "/console/hotline", params={"status": "assigned", "unit": unit, "channel": "phone"}
        )
        assert queue.status_code == 200 and f"Hỏi thời hạn cấp phép {tag}" in queue.text
        assert "Còn hạn" in queue.text

        page = officer.get(ticket_path)
        for step in ("Tiếp nhận", "Thụ lý", "Giao đơn vị", f"đúng {tag}", OFFICER):
            assert step in page.text, step

        composer = officer.get(f"{ticket_path}/answer")
        assert composer.status_code == 200 and f'action="{ticket_path}/answer"' in composer.text
        answer = (
            f"Sở đã liên hệ ông qua số {PHONE} và đối chiếu CCCD {CCCD}. "
            f"Hồ sơ được trả kết quả trong 5 ngày làm việc ({tag})."
        )
        saved = officer.post(f"{ticket_path}/answer", data={"csrf_token": csrf(composer), "answer": answer})
        assert saved.status_code == 303, saved.text
        composer = officer.get(saved.headers["location"])
        public = public_part(composer)
        assert PHONE not in public and CCCD not in public
        assert f"qua số {MARK} và đối chiếu CCCD {MARK}" in public
        assert "preview_digest" not in composer.text  # an officer does not approve

    with system.console(APPROVER) as approver:
        composer = approver.get(f"{ticket_path}/answer")
        assert composer.status_code == 200
        digest = re.search(r'name="preview_digest" value="([0-9a-f]{64})"', composer.text)
        assert digest, composer.text
        assert f"qua số {MARK}" in public_part(composer)
        assert approver.post(f"{ticket_path}/accept", data={"csrf_token": csrf(composer)}).status_code == 403
        approved = approver.post(
            f"{ticket_path}/approve", data={"csrf_token": csrf(composer), "preview_digest": digest.group(1)}
        )
        assert approved.status_code == 303, approved.text
        composer = approver.get(approved.headers["location"])
        assert f'action="{ticket_path}/publish"' in composer.text
        published = approver.post(f"{ticket_path}/publish", data={"csrf_token": csrf(composer)})
        assert published.status_code == 303, published.text
        page = approver.get(ticket_path)
        code = re.search(r"PAKN-\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", page.text)
        assert code
        assert f"/hoi-dap/{code.group(0)}.html" in page.text
        assert "Phê duyệt trả lời" in page.text and "Đăng công khai" in page.text

    answer_page = f"hoi-dap/{code.group(0)}.html"
    shown = system.wait_for_page(answer_page, f"5 ngày làm việc ({tag})", timeout=20)
    assert PHONE not in shown and CCCD not in shown
    assert "0987 111 222" not in shown and "Đỗ Văn Khánh" not in shown and citizen not in shown
    assert tag in system.portal_page("hoi-dap/index.html").text

    # The citizen's e-mail: the answer as published, the link to it.
    wait_until(lambda: inbox.to(citizen), timeout=20, message="the citizen's reply e-mail")
    [mail] = inbox.to(citizen)
    body = text_of(mail)
    assert f"5 ngày làm việc ({tag})" in body and PHONE not in body and CCCD not in body
    assert f"/hoi-dap/{code.group(0)}.html" in body

    with system.console(APPROVER) as approver:
        page = approver.get(ticket_path)
        withdrawn = approver.post(
            f"{ticket_path}/withdraw", data={"csrf_token": csrf(page), "reason": f"Cần sửa nội dung {tag}"}
        )
        assert withdrawn.status_code == 303, withdrawn.text
        page = approver.get(withdrawn.headers["location"])
        assert "Đã gỡ câu trả lời" in page.text and f"Cần sửa nội dung {tag}" in page.text
        assert f'action="{ticket_path}/withdraw"' not in page.text  # nothing left to withdraw

    # One portal run writes the answer's page, then the lists, then the home page.
    for page in (answer_page, "hoi-dap/index.html", "index.html"):
        wait_until(
            lambda page=page: tag not in system.portal_page(page).text,  # type: ignore[misc]
            timeout=20,
            message=f"the answer leaves {page}",
        )
    assert len(inbox.to(citizen)) == 1  # one e-mail per answer, withdrawal or not
    assert citizen not in system.logs()  # no personal data in any log line
    assert ticket_id > 0


def test_an_editor_gets_403_on_hotline_pages(system: System) -> None:
    with system.console(EDITOR) as editor:
        for path in ("/console/hotline", "/console/hotline/new", "/console/hotline/1"):
            assert editor.get(path).status_code == 403, path
