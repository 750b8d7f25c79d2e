"""What an amendment changed, where the public sees it: the procedure's page, its decision's
page, the Atom feed and the centre's A4 notice (with its QR code)."""

import unicodedata

from minhbach_testing.notifier import decision_ref, decision_state, envelope, procedure_state
from minhbach_testing.qr import read_qr_svg
from notifier.channels.pages import qr_svg
from notifier.channels.views.procedures import change_lines
from notifier.disclosure import services as disclosure

FEE = "Lệ phí cấp giấy phép xây dựng"
PAPER = "Bản vẽ hiện trạng công trình"
# As the procedures service gives them (procedures.amendments).
CHANGES = [
    {"component": "dossier", "added": [{"name": PAPER, "copies": 1}]},
    {
        "component": "processing_time",
        "before": {"value": 20, "unit": "working_days"},
        "after": {"value": 15, "unit": "working_days"},
    },
    {
        "component": "fees",
        "changed": [
            {"before": {"name": FEE, "amount_vnd": 150000}, "after": {"name": FEE, "amount_vnd": 200000}}
        ],
    },
]
LINES = [
    f"Thành phần hồ sơ: thêm «{PAPER}»",
    "Thời hạn giải quyết: 20 → 15 ngày làm việc",
    f"Phí, lệ phí: «{FEE}» 150.000 đồng → 200.000 đồng",
]


# -- the words ------------------------------------------------------------------------


def test_the_owner_s_changes_in_plain_vietnamese() -> None:
    assert change_lines(CHANGES) == LINES


def test_no_summary_from_the_owner_is_none_and_no_change_is_empty() -> None:
    assert change_lines(None) is None  # another action, or a state older than the summaries
    assert change_lines([]) == []


def test_each_shape_of_a_change() -> None:
    shapes = [
        {"component": "agency", "before": "Sở Xây dựng", "after": "UBND tỉnh"},
        {"component": "result", "before": None, "after": "Giấy phép"},
        {"component": "online_service", "before": "một phần", "after": None},
        {"component": "subjects", "added": ["Tổ chức"], "removed": ["Hộ gia đình"]},
        {"component": "steps", "before": ["Bước 1", "Bước 2"], "after": ["Bước 2", "Bước 1"]},
        {
            "component": "processing_time",
            "before": {"value": 3, "unit": "months"},
            "after": {"value": 60, "unit": "days"},
        },
        {"component": "processing_time", "before": None, "after": {"value": 5, "unit": "working_days"}},
        {
            "component": "fees",
            "added": [{"name": "Phí thẩm định", "amount_vnd": 500000}],
            "removed": [{"name": "Lệ phí cũ", "amount_vnd": None, "note": "Theo biểu phí của Bộ Tài chính"}],
            "changed": [
                {"before": {"name": "A", "amount_vnd": 1000}, "after": {"name": "B", "amount_vnd": 2000}}
            ],
        },
        {
            "component": "dossier",
            "before": 1,
            "after": 2,
            "removed": [{"name": "Tờ khai cũ"}],
            "changed": [
                {
                    "before": {"name": "Đơn", "originals": 1},
                    "after": {"name": "Đơn", "originals": 2, "copies": 1},
                }
            ],
        },
    ]
    assert change_lines(shapes) == [
        "Cơ quan thực hiện: Sở Xây dựng → UBND tỉnh",
        "Kết quả thực hiện: bổ sung «Giấy phép»",
        "Mức độ dịch vụ công trực tuyến: bỏ «một phần»",
        "Đối tượng thực hiện: thêm «Tổ chức»; bỏ «Hộ gia đình»",
        "Trình tự thực hiện: sắp xếp lại thứ tự",
        "Thời hạn giải quyết: 3 tháng → 60 ngày",
        "Thời hạn giải quyết: bổ sung «5 ngày làm việc»",
        "Phí, lệ phí: «A» 1.000 đồng → «B» 2.000 đồng; thêm «Phí thẩm định: 500.000 đồng»; "
        "bỏ «Lệ phí cũ: Theo biểu phí của Bộ Tài chính»",
        "Thành phần hồ sơ: «Đơn»: 1 bản chính → 2 bản chính, 1 bản sao; bỏ «Tờ khai cũ»; "
        "số lượng hồ sơ: 1 → 2 bộ",
    ]


# -- the pages --------------------------------------------------------------------------


def amended_state(changes=CHANGES):  # type: ignore[no-untyped-def]
    """MB.XD.001 at version 2, amended by decision 5 (22/QĐ-SXD) with `changes`."""
    state = procedure_state("MB.XD.001", 2)
    state["history"][1]["changes"] = changes
    state["processing_time"] = {"value": 15, "unit": "working_days"}
    return state


def amending_decision():  # type: ignore[no-untyped-def]
    ref = decision_ref(5, "22/QĐ-SXD")
    return decision_state(
        5,
        number=ref["number"],
        changes=[
            {
                "action": "amend",
                "procedure_code": "MB.XD.001",
                "procedure_name": "Cấp giấy phép",
                "replaced_by": None,
                "changes": CHANGES,
            },
            {
                "action": "new",
                "procedure_code": "MB.XD.002",
                "procedure_name": "Gia hạn",
                "replaced_by": None,
            },
        ],
    )


def publish(notifier, owner, *states, channel="portal"):
    events = []
    for kind, state in states:
        owner.put(kind, state)
        events.append(envelope(kind, str(state.get("code") or state["id"]), state["version"]))
    disclosure.ingest(notifier, events)
    return disclosure.run_channel(notifier, channel)


def read(root, relative):
    text = (root / relative).read_bytes().decode("utf-8")
    assert unicodedata.is_normalized("NFC", text), f"{relative} is not NFC"
    return text


def test_the_procedure_page_says_what_its_amendment_changed(notifier, owner, settings):
    publish(notifier, owner, ("procedure", amended_state()))
    page = read(settings.portal_dir, "thu-tuc/MB.XD.001.html")

    section = page[page.index('class="what-changed"') : page.index("</section>")]
    assert "Điểm mới của phiên bản 2" in section
    assert 'theo Quyết định số <a href="../quyet-dinh/5.html">22/QĐ-SXD</a>' in section
    for line in LINES:
        assert f"<li>{line}</li>" in section, line
    # The history keeps what each amendment changed.
    history = page[page.index('class="history"') :]
    assert all(line in history for line in LINES)


def test_a_new_procedure_says_when_it_was_first_published_and_older_data_says_nothing(
    notifier, owner, settings
):
    publish(notifier, owner, ("procedure", procedure_state("MB.XD.002", 1)))
    page = read(settings.portal_dir, "thu-tuc/MB.XD.002.html")
    assert "Công bố lần đầu theo Quyết định số" in page and "Điểm mới" not in page

    publish(notifier, owner, ("procedure", procedure_state("MB.XD.003", 2)))  # no "changes": older data
    page = read(settings.portal_dir, "thu-tuc/MB.XD.003.html")
    assert 'class="what-changed' not in page and "Phiên bản 2" in page


def test_an_amendment_that_changed_nothing_says_so(notifier, owner, settings):
    publish(notifier, owner, ("procedure", amended_state([])))
    page = read(settings.portal_dir, "thu-tuc/MB.XD.001.html")
    assert "Nội dung các thành phần không thay đổi." in page


def test_the_decision_page_lists_what_it_changed_in_each_procedure(notifier, owner, settings):
    publish(notifier, owner, ("decision", amending_decision()))
    page = read(settings.portal_dir, "quyet-dinh/5.html")

    amended_row = page[page.index("../thu-tuc/MB.XD.001.html") : page.index("../thu-tuc/MB.XD.002.html")]
    for line in LINES:
        assert f"<li>{line}</li>" in amended_row, line
    assert page.count('class="changes"') == 1  # the new procedure has nothing to compare


def test_the_feed_entry_of_the_amendment_carries_the_summary(notifier, owner, settings):
    publish(notifier, owner, ("procedure", amended_state()))
    feed = read(settings.portal_dir, "feed.xml")

    entry = feed[feed.index("urn:minhbach:procedure:MB.XD.001:v2") :]
    summary = entry[entry.index("<summary>") : entry.index("</summary>")]
    assert "Thay đổi: " + "; ".join(LINES) in summary
    first = feed[feed.index("urn:minhbach:procedure:MB.XD.001:v1") :]
    assert "Thay đổi" not in first[: first.index("</entry>")]


def test_the_centre_notice_carries_the_summary_and_a_qr_code_of_its_portal_page(notifier, owner, settings):
    publish(notifier, owner, ("procedure", amended_state()), channel="center")
    notice = read(settings.center_dir, "thu-tuc/MB.XD.001.html")

    url = f"{settings.portal_url}/thu-tuc/MB.XD.001.html"
    assert url == "http://127.0.0.1:8004/portal/thu-tuc/MB.XD.001.html"
    for line in LINES:
        assert f"<li>{line}</li>" in notice, line
    assert f'<a href="{settings.portal_url}/quyet-dinh/5.html">22/QĐ-SXD</a>' in notice
    # The code is inline SVG that a decoder reads as exactly this URL, printed under it too.
    assert qr_svg(url) in notice and "<img" not in notice
    assert read_qr_svg(qr_svg(url)) == url
    assert f"Quét mã để xem thủ tục trên Cổng thông tin: {url}" in notice


def test_a_procedure_in_place_of_another_says_what_differs_from_it(notifier, owner, settings):
    time_only = [CHANGES[1]]
    successor = procedure_state("MB.XD.101", 1)
    successor["history"][0] |= {"replaces": "MB.XD.001", "changes": time_only}
    decision = decision_state(
        3,
        changes=[
            {
                "action": "replace",
                "procedure_code": "MB.XD.001",
                "procedure_name": "Cũ",
                "replaced_by": "MB.XD.101",
            },
            {
                "action": "new",
                "procedure_code": "MB.XD.101",
                "procedure_name": "Mới",
                "replaced_by": None,
                "replaces": "MB.XD.001",
                "changes": time_only,
            },
        ],
    )
    publish(notifier, owner, ("procedure", successor), ("decision", decision))

    page = read(settings.portal_dir, "thu-tuc/MB.XD.101.html")
    section = page[page.index('class="what-changed"') : page.index("</section>")]
    assert 'Công bố thay thế thủ tục <a href="./MB.XD.001.html">MB.XD.001</a>' in section
    assert f"<li>{LINES[1]}</li>" in section and "Công bố lần đầu" not in page
    feed = read(settings.portal_dir, "feed.xml")
    entry = feed[feed.index("urn:minhbach:procedure:MB.XD.101:v1") :]
    assert f"So với thủ tục MB.XD.001: {LINES[1]}." in entry[: entry.index("</entry>")]
    decision_page = read(settings.portal_dir, "quyet-dinh/3.html")
    assert "So với thủ tục MB.XD.001:" in decision_page and f"<li>{LINES[1]}</li>" in decision_page
