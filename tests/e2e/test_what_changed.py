"""See what changed, and take it with you (issue 14), end to end: a decision amends a
procedure's fee and processing time and adds a paper to its dossier; the procedure's
page, the decision's page, the feed entry and the centre's A4 notice each say so in
plain Vietnamese, and the notice carries a QR code that leads to the portal's page.

Real processes from the Procfile, a real redis-server.
"""

from __future__ import annotations

import re
import unicodedata
from html import unescape

import httpx

from minhbach_shared.auth import Role
from minhbach_testing.harness import System, today_in_vietnam
from minhbach_testing.qr import read_qr_svg

CODE = "E2E.CHG.1"
PAPER = "Bản vẽ hiện trạng công trình xin cải tạo"
LINES = [
    f"Thành phần hồ sơ: thêm «{PAPER}»",
    "Thời hạn giải quyết: 20 → 15 ngày làm việc",
    "Phí, lệ phí: «Lệ phí cấp giấy phép xây dựng» 150.000 đồng → 200.000 đồng",
]


def nfc_text(page: str) -> str:
    assert unicodedata.is_normalized("NFC", page)
    return unescape(page)


def test_an_amendment_says_what_changed_on_every_page_and_the_notice_leads_to_the_portal(
    system: System, procedure_like
):
    body = procedure_like(CODE, "Cấp giấy phép sửa chữa, cải tạo công trình")
    assert body["fees"] == [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 150000}]
    assert body["processing_time"] == {"value": 20, "unit": "working_days"}
    system.create_procedure(body)
    first = system.decide(
        "141/QĐ-SXD", [{"action": "new", "procedure_code": CODE}], effective_on=today_in_vietnam()
    )
    assert first.status_code == 200, first.text
    system.wait_for_page(f"thu-tuc/{CODE}.html", "Công bố lần đầu theo Quyết định số")

    with system.procedures() as api:
        dossier = api.get(f"/v1/procedures/{CODE}").json()["dossier"]
        edited = api.patch(
            f"/v1/procedures/{CODE}",
            json={
                "fees": [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 200000}],
                "processing_time": {"value": 15, "unit": "working_days"},
                "dossier": {**dossier, "items": [*dossier["items"], {"name": PAPER}]},
            },
            headers=system.token(Role.EDITOR),
        )
        assert edited.status_code == 200, edited.text
    amended = system.decide(
        "142/QĐ-SXD", [{"action": "amend", "procedure_code": CODE}], effective_on=today_in_vietnam()
    )
    assert amended.status_code == 200, amended.text
    decision_id = amended.json()["id"]

    # The procedure's page: what is new in version 2, and the decision that made it so.
    page = nfc_text(system.wait_for_page(f"thu-tuc/{CODE}.html", "Điểm mới của phiên bản 2"))
    news = page[page.index('class="what-changed"') : page.index("</section>")]
    assert f'<a href="../quyet-dinh/{decision_id}.html">142/QĐ-SXD</a>' in news
    assert all(f"<li>{line}</li>" in news for line in LINES), news

    # The decision's page: each procedure it touched, with the same summary.
    decision = nfc_text(system.wait_for_page(f"quyet-dinh/{decision_id}.html", LINES[0]))
    assert all(f"<li>{line}</li>" in decision for line in LINES), decision

    # The feed entry of version 2 carries it.
    feed = nfc_text(system.wait_for_page("feed.xml", f"urn:minhbach:procedure:{CODE}:v2"))
    entry = feed[feed.index(f"urn:minhbach:procedure:{CODE}:v2") :]
    assert "Thay đổi: " + "; ".join(LINES) in entry[: entry.index("</entry>")]

    # The centre's A4 notice: the summary, and a QR code of the portal's page.
    notice = nfc_text(system.wait_for_page(f"thu-tuc/{CODE}.html", 'content="2"', channel="center"))
    assert all(f"<li>{line}</li>" in notice for line in LINES), notice
    url = re.search(r"Quét mã để xem thủ tục trên Cổng thông tin: (\S+?)</figcaption>", notice)
    assert url, "the notice prints its portal address under the QR code"
    address = url.group(1)
    assert address.endswith(f"/portal/thu-tuc/{CODE}.html")
    drawn = re.search(r'<svg viewBox="[^"]*" class="qr-code".*?</svg>', notice)
    assert drawn and read_qr_svg(drawn.group(0)) == address, (
        "the QR code does not read as the address under it"
    )
    assert "<img" not in notice and 'src="http' not in notice  # nothing requested from elsewhere
    # What the code holds leads to the procedure's page as the public reads it.
    reached = httpx.get(address, timeout=10)
    assert reached.status_code == 200 and "Điểm mới của phiên bản 2" in reached.text
