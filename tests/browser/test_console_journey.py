"""The main journey of issue 10 in headless Chromium, with the keyboard alone.

An editor signs in, creates a procedure missing two components and sees both named,
completes it, composes a decision with the search and submits it; an approver, in
another browser context, finds it in the inbox with the difference, publishes it; the
portal shows the procedure and the console's tracker shows every channel done. Every
step is a key press (Tab, Enter, Space) or typing: no click, no fill.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from minhbach_shared.times import VIETNAM
from minhbach_testing.harness import System
from minhbach_testing.plugin import wait_until
from tests.browser.console_keyboard import main_text, sign_in

OFFICE = {"viewport": {"width": 1366, "height": 768}, "locale": "vi-VN"}


def test_from_a_new_procedure_to_every_channel_with_the_keyboard_alone(system: System, browser: Any) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    code, name, number = f"KB.{tag}", f"Cấp giấy phép thử nghiệm bàn phím {tag}", f"{tag}/QĐ-SXD"
    editor_context = browser.new_context(**OFFICE)
    approver_context = browser.new_context(**OFFICE)
    try:
        page = editor_context.new_page()
        keys = sign_in(page, system, "bientap")

        # A new procedure, every component but fees and legal bases.
        keys.activate("Thủ tục hành chính")
        keys.activate("Thêm thủ tục mới")
        keys.type_into("Mã thủ tục", code)
        keys.type_into("Tên thủ tục", name)
        keys.type_into("Lĩnh vực", "Hoạt động xây dựng")
        keys.choose("Cấp thực hiện", "Cấp tỉnh")
        keys.type_into("Cơ quan thực hiện", "Sở Xây dựng tỉnh Thái Bình")
        keys.type_into("Kết quả thực hiện", "Giấy phép")
        keys.type_into("Đối tượng thực hiện, dòng 1", "Tổ chức")
        keys.type_into("Trình tự thực hiện, dòng 1", "Bước 1: Nộp hồ sơ tại Trung tâm")
        keys.type_into("Cách thức thực hiện, dòng 1", "Trực tuyến")
        keys.type_into("Giấy tờ, dòng 1", "Đơn đề nghị")
        keys.type_into("Số", "15")
        keys.check("Thủ tục không có mẫu đơn, tờ khai")
        keys.check("Thủ tục không có yêu cầu, điều kiện thực hiện")
        keys.choose("Mức độ dịch vụ công trực tuyến", "toàn trình")
        # The checklist followed the typing: two still missing.
        assert page.locator("#missing-count").inner_text() == "Còn thiếu 2 thành phần."
        keys.activate("Lưu bản nháp")
        shown = main_text(page)
        assert "Còn thiếu 2 thành phần bắt buộc" in shown
        assert "Phí, lệ phí" in shown and "Căn cứ pháp lý" in shown

        # Completed.
        keys.activate("Sửa bản nháp")
        keys.type_into("Khoản phí, dòng 1", "Lệ phí cấp giấy phép")
        keys.type_into("Số tiền (đồng)", "150.000")
        keys.type_into("Căn cứ pháp lý, dòng 1", "Luật Xây dựng số 50/2014/QH13")
        assert page.locator("#missing-count").inner_text() == "Đã đủ các thành phần."
        keys.activate("Lưu bản nháp")
        assert "Đã đủ các thành phần bắt buộc" in main_text(page)

        # A decision putting it in force, the procedure picked with the search.
        keys.activate("Quyết định công bố")
        keys.activate("Soạn quyết định mới")
        keys.type_into("Số quyết định", number)
        keys.type_into("Trích yếu", f"Công bố thủ tục hành chính mới ({tag})")
        keys.type_into("Cơ quan ban hành", "Sở Xây dựng tỉnh Thái Bình")
        today = datetime.now(VIETNAM).strftime("%d/%m/%Y")
        keys.type_into("Ngày ký", today)
        keys.type_into("Ngày có hiệu lực", today)
        keys.type_into("Tên hoặc mã thủ tục", code)
        keys.activate("Tìm")
        keys.activate(f"Thêm vào quyết định: thủ tục {code}", prefix=True)
        assert f"Đã thêm thủ tục {code}" in main_text(page)
        keys.activate("Lưu bản nháp")
        keys.activate("Xem lại và trình phê duyệt")
        assert name in main_text(page)  # the summary names what it changes
        keys.activate("Trình lãnh đạo phê duyệt")
        assert "Đã trình quyết định" in main_text(page)
        # The editor is offered no publishing, here or anywhere.
        assert page.get_by_role("button", name=re.compile("Ban hành")).count() == 0

        # The approver, elsewhere.
        page = approver_context.new_page()
        keys = sign_in(page, system, "pheduyet")
        keys.activate("Chờ phê duyệt")
        inbox = page.locator("article, section, li").filter(has_text=number).first
        assert name in inbox.inner_text()
        assert page.locator("ins").filter(has_text=name).count() >= 1  # the difference: all new
        keys.activate(f"Ban hành quyết định {number}")
        wait_until(
            lambda: (
                page.locator("#tracker-summary").inner_text().startswith("Đã công khai xong trên mọi kênh")
            ),
            timeout=60,
            message="the tracker to show every channel done",
        )
        assert system.shown_version(code) == 1
        assert name in system.portal_page(f"thu-tuc/{code}.html").text
    finally:
        editor_context.close()
        approver_context.close()
