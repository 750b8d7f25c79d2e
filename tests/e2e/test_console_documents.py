"""The documents desk against the running system (content, procedures, notifier, their
workers, the console): an editor files a plan, then a second that amends it, picked from
the list of filed documents; corrects the first with a reason; the document's page shows
each changed field's old and new value and who corrected it (the account's full name),
and the portal's page for the document shows the corrected value. An approver reads it
all and is offered no write.

The system is shared with other tests: every number here carries a fragment of its own."""

from __future__ import annotations

import html
import re
import uuid

import httpx

from minhbach_shared.text import slugify
from minhbach_testing.harness import System

EDITOR, APPROVER = "bientap", "pheduyet"
EDITOR_NAME = "Nguyễn Thị Biên (biên tập)"


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def document_id_of(answer: httpx.Response) -> int:
    assert answer.status_code == 303, answer.text[:3000]
    found = re.match(
        r"^/console/documents/(\d+)\?msg=document_(filed|corrected)$", answer.headers["location"]
    )
    assert found, answer.headers["location"]
    return int(found.group(1))


def option_for(page: httpx.Response, number: str) -> str:
    """The value of the filed document's option in a relation's select, found by its label."""
    found = re.search(rf'<option value="([^"]+)">{re.escape(html.escape(number))} · ', page.text)
    assert found, f"{number} is not offered in the list of filed documents"
    return html.unescape(found.group(1))


def test_an_editor_files_relates_and_corrects_a_document_and_every_page_follows(system: System) -> None:
    tag = uuid.uuid4().hex[:8]
    first, second = f"15/KH-SXD-{tag}", f"16/KH-SXD-{tag}"
    title = f"Kế hoạch tuyen truyen cải cách hành chính {tag}"
    with system.console(EDITOR) as editor, system.console(APPROVER) as approver:
        page = editor.get("/console/documents/new")
        assert page.status_code == 200, page.text[:500]
        form = {
            "csrf_token": csrf(page),
            "number": first,
            "type": "Kế hoạch",
            "title": title,
            "issuer": "Sở Xây dựng tỉnh Thái Bình",
            "signed_on": "07/02/2026",
            "summary": "Tuyên truyền cải cách hành chính trong năm.",
            "procedure_codes": "",
        }
        # An unknown procedure code is named beside its field; nothing is filed.
        unknown = editor.post("/console/documents/new", data={**form, "procedure_codes": f"KHONG.CO.{tag}"})
        assert unknown.status_code == 422 and 'id="procedure_codes-error"' in unknown.text
        assert f"KHONG.CO.{tag}" in unknown.text and f'value="{first}"' in unknown.text
        first_id = document_id_of(editor.post("/console/documents/new", data=form))
        shown = editor.get(f"/console/documents/{first_id}")
        assert "Đã nhập văn bản" in editor.get(f"/console/documents/{first_id}?msg=document_filed").text
        assert "Văn bản chưa được đính chính lần nào." in shown.text
        slug = slugify(first)
        system.wait_for_page(f"van-ban/{slug}.html", "tuyen truyen")

        # The second amends the first, picked from the list of filed documents.
        page = editor.get("/console/documents/new")
        picked = option_for(page, first)
        second_id = document_id_of(
            editor.post(
                "/console/documents/new",
                data={
                    **form,
                    "csrf_token": csrf(page),
                    "number": second,
                    "title": f"Kế hoạch sửa đổi kế hoạch tuyên truyền {tag}",
                    "signed_on": "01/06/2026",
                    "effective_on": "15/06/2026",
                    "relations-0-kind": "amends",
                    "relations-0-number": picked,
                },
            )
        )
        amended = editor.get(f"/console/documents/{first_id}")
        assert (
            f'Được sửa đổi, bổ sung bởi <a href="/console/documents/{second_id}">{second}</a>' in amended.text
        )
        listing = editor.get("/console/documents", params={"q": tag})
        assert listing.text.count(f'/console/documents/{first_id}"') == 1 and second in listing.text

        # The correction: the title's accents and the signing date, with a reason.
        page = editor.get(f"/console/documents/{first_id}/correct")
        assert page.status_code == 200 and 'value="07/02/2026"' in page.text
        fixed_title = f"Kế hoạch tuyên truyền cải cách hành chính {tag}"
        correction = {
            "csrf_token": csrf(page),
            "number": first,
            "type": "Kế hoạch",
            "title": fixed_title,
            "issuer": "Sở Xây dựng tỉnh Thái Bình",
            "signed_on": "08/02/2026",
            "effective_on": "",
            "summary": "Tuyên truyền cải cách hành chính trong năm.",
            "procedure_codes": "",
            "in_force": "1",
            "reason": "Gõ thiếu dấu ở trích yếu, sai ngày ký",
        }
        # Nothing changed: said once, plainly, and nothing is kept.
        same = editor.post(
            f"/console/documents/{first_id}/correct",
            data={**correction, "title": title, "signed_on": "07/02/2026"},
        )
        assert same.status_code == 422 and "Chưa có gì để đính chính" in same.text
        assert (
            document_id_of(editor.post(f"/console/documents/{first_id}/correct", data=correction)) == first_id
        )

        shown = editor.get(f"/console/documents/{first_id}")
        assert 'Lịch sử đính chính <span class="count">(1 lần)</span>' in shown.text
        assert f'{EDITOR_NAME} <small class="muted">({EDITOR})</small>' in shown.text
        assert "Lý do: “Gõ thiếu dấu ở trích yếu, sai ngày ký”" in shown.text
        for label, before, after in (
            ("Ngày ký", "07/02/2026", "08/02/2026"),
            ("Trích yếu", title, fixed_title),
        ):
            assert (
                f'<tr><th scope="row">{label}</th><td><del><span class="visually-hidden">Cũ: </span>{before}'
                f'</del></td><td><ins><span class="visually-hidden">Mới: </span>{after}</ins></td></tr>'
            ) in shown.text, label
        assert "Tóm tắt</th>" not in shown.text  # an unchanged field is not in the history

        # The approver reads the same history and is offered no write.
        read = approver.get(f"/console/documents/{first_id}")
        assert read.status_code == 200 and fixed_title in read.text and EDITOR_NAME in read.text
        assert "Đính chính văn bản</a>" not in read.text
        assert approver.get(f"/console/documents/{first_id}/correct").status_code == 403
        forged = approver.post(
            f"/console/documents/{first_id}/correct", data={**correction, "csrf_token": csrf(read)}
        )
        assert forged.status_code == 403

    # Every channel follows: the portal's page shows the corrected title.
    portal = system.wait_for_page(f"van-ban/{slug}.html", fixed_title)
    assert "tuyen truyen" not in portal
