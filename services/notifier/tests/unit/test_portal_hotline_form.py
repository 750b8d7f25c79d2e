"""The portal's hotline form and tracking-code lookup (issue 4, intake): static pages, rendered
with the other hoi-dap pages, that call the hotline's public API from the citizen's browser."""

from __future__ import annotations

import re
import unicodedata

import pytest

from minhbach_testing.notifier import (
    decision_ref,
    envelope,
    hotline_statistics,
    procedure_state,
    ticket_answer,
)
from notifier.disclosure import services as disclosure

API = "https://hotline.xaydung.thaibinh.gov.vn"
FORM = "hoi-dap/gui-phan-anh.html"
LOOKUP = "hoi-dap/tra-cuu.html"


def read(settings, relative):
    raw = (settings.portal_dir / relative).read_bytes()
    text = raw.decode("utf-8")  # strict: invalid UTF-8 fails here
    assert unicodedata.is_normalized("NFC", text), f"{relative} is not NFC"
    return text


@pytest.fixture
def rendered(notifier, owner, hotline_owner, settings):
    """Two procedures in force, one abolished, an answer (which brings the statistics and the
    hotline's phones); the portal run once."""
    hotline_owner.documents["statistics"] = hotline_statistics()
    notifier.channels["portal"].hotline_base_url = API
    states = [
        procedure_state("MB.XD.001", 1),
        procedure_state("MB.XD.002", 1, name="Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II, hạng III"),
        procedure_state(
            "MB.XD.009",
            2,
            name="Thủ tục đã bãi bỏ",
            status="abolished",
            actions=[("new", decision_ref()), ("abolish", decision_ref(7, "45/QĐ-SXD", "2026-12-01"))],
        ),
    ]
    for state in states:
        owner.put("procedure", state)
    hotline_owner.put("ticket", ticket_answer("PAKN-2026-000123", 1))
    disclosure.ingest(
        notifier,
        [envelope("procedure", s["code"], s["version"]) for s in states]
        + [envelope("ticket", "PAKN-2026-000123", 1)],
    )
    report = disclosure.run_channel(notifier, "portal")
    assert report.failed == 0
    return settings


def test_the_form_page_is_written_with_its_fields_honeypot_and_procedures(rendered):
    page = read(rendered, FORM)
    assert '<html lang="vi">' in page
    assert "<h1>Gửi phản ánh, kiến nghị về thủ tục hành chính</h1>" in page
    assert f'data-api="{API}"' in page
    for name in ("subject", "body", "name", "phone", "email", "address", "consent_to_publish"):
        assert f'name="{name}"' in page, name
    assert 'name="kind" value="phan_anh" checked' in page and 'name="kind" value="kien_nghi"' in page

    # The honeypot: hidden from people and from keyboard and screen-reader users.
    honeypot = re.search(r'<div class="hp" aria-hidden="true">(.*?)</div>', page, re.S)
    assert honeypot is not None
    assert re.search(
        r'<input id="f-website" name="website" type="text" tabindex="-1" autocomplete="off">',
        honeypot.group(1),
    )

    # The procedure is found through the public search (a combobox), not from a list of
    # every procedure: the page holds none of them, so it does not grow with the catalogue.
    assert re.search(
        r'<input id="f-procedure" type="text" role="combobox" aria-autocomplete="list" '
        r'aria-expanded="false" aria-controls="f-procedure-list"[^>]* data-search="\.\./\.\./v1/search">',
        page,
    )
    assert '<input id="f-procedure-code" name="procedure_code" type="hidden" value="">' in page
    assert '<ul id="f-procedure-list" class="choices" role="listbox"' in page
    assert "MB.XD.001" not in page and "<select" not in page and "<option" not in page

    # Personal data is never published, and the page says so by the consent box.
    assert "không bao giờ được công khai" in page
    # Without JavaScript: a polite note with the hotline's phones; the form is shown by the script.
    assert '<form id="pakn" class="pakn" data-api=' in page and "novalidate hidden>" in page
    assert "Biểu mẫu này cần JavaScript" in page
    assert '<a href="tel:02273831234">0227 3831 234</a>' in page
    # The messages the script shows.
    assert "Mã theo dõi:" in page
    assert "Bạn đã gửi quá nhiều lần, vui lòng thử lại sau " in page
    assert "/v1/public/tickets" in page


def test_the_lookup_page_is_written_with_vietnamese_statuses(rendered):
    page = read(rendered, LOOKUP)
    assert "<h1>Tra cứu tình trạng xử lý phản ánh, kiến nghị</h1>" in page
    assert f'data-api="{API}"' in page
    for status, label in {
        "received": "Đã tiếp nhận",
        "waiting_for_citizen": "Đang chờ người gửi bổ sung thông tin",
        "published": "Đã trả lời và công khai",
        "rejected": "Không thụ lý",
    }.items():
        assert re.search(rf'{status}: "{label}', page), status
    assert "Việc tra cứu cần JavaScript" in page
    assert '<a href="gui-phan-anh.html">' in page


def test_both_pages_are_linked_from_the_qa_index_and_the_home_page(rendered):
    for relative, prefix in (("hoi-dap/index.html", ""), ("index.html", "hoi-dap/")):
        page = read(rendered, relative)
        assert f'<a href="{prefix}gui-phan-anh.html">Gửi phản ánh, kiến nghị</a>' in page, relative
        assert f'<a href="{prefix}tra-cuu.html">' in page, relative


def test_without_a_hotline_url_the_script_calls_its_own_origin(notifier, owner, settings):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    notifier.channels["portal"].hotline_base_url = ""
    disclosure.run_channel(notifier, "portal")
    page = read(settings, FORM)
    assert 'data-api=""' in page
    # No statistics yet: the note still points to the Department's hotline.
    assert "gọi đường dây nóng của Sở" in page


def test_a_procedure_in_force_links_to_the_form_with_itself_chosen(rendered):
    link = '<a href="../hoi-dap/gui-phan-anh.html?thu-tuc={}">Gửi phản ánh, kiến nghị về thủ tục này</a>'
    assert link.format("MB.XD.001") in read(rendered, "thu-tuc/MB.XD.001.html")
    # An abolished procedure takes no new phản ánh through the form (the API refuses it).
    assert "gui-phan-anh.html?" not in read(rendered, "thu-tuc/MB.XD.009.html")


def test_the_form_is_not_written_again_when_only_procedures_change(notifier, owner, rendered):
    form = rendered.portal_dir / FORM
    before = form.stat().st_mtime_ns
    owner.put("procedure", procedure_state("MB.XD.003", 1, name="Thủ tục mới công bố"))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.003", 1)])
    assert disclosure.run_channel(notifier, "portal").sent == 1
    assert (rendered.portal_dir / "thu-tuc/MB.XD.003.html").is_file()
    assert form.stat().st_mtime_ns == before


def test_no_stray_temporary_files(rendered):
    assert not list((rendered.portal_dir / "hoi-dap").glob(".*.tmp"))
