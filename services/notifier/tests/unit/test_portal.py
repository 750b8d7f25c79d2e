"""The portal channel writes correct, complete Vietnamese pages, atomically."""

import multiprocessing
import os
import re
import time
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

from minhbach_shared.components import PROCEDURE_COMPONENTS
from minhbach_testing.notifier import decision_ref, decision_state, envelope, procedure_state
from notifier.disclosure import services as disclosure


def publish(notifier, owner, *states):
    events = []
    for kind, state in states:
        owner.put(kind, state)
        events.append(envelope(kind, str(state.get("code") or state["id"]), state["version"]))
    disclosure.ingest(notifier, events)
    return disclosure.run_channel(notifier, "portal")


def read(settings, relative):
    raw = (settings.portal_dir / relative).read_bytes()
    text = raw.decode("utf-8")
    assert unicodedata.is_normalized("NFC", text), f"{relative} is not NFC"
    return text


def test_procedure_page_shows_every_component(notifier, owner, settings):
    # A decomposed (NFD) name from the owner is still written as NFC.
    name = unicodedata.normalize("NFD", "Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II")
    publish(notifier, owner, ("procedure", procedure_state("MB.XD.001", 2, name=name)))
    page = read(settings, "thu-tuc/MB.XD.001.html")
    assert '<html lang="vi">' in page and '<meta charset="utf-8">' in page
    assert 'name="viewport"' in page
    assert '<meta name="mb:version" content="2">' in page and 'data-version="2"' in page
    for text in [
        "Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II",
        "Hoạt động xây dựng",
        "Cấp tỉnh",
        "Sở Xây dựng tỉnh Thái Bình",
        "Tổ chức, Cá nhân",
        "Bước 1: Tổ chức, cá nhân nộp hồ sơ",
        "Trực tuyến trên Cổng dịch vụ công",
        "Đơn đề nghị cấp giấy phép xây dựng",
        "Bản chính",
        "Bản sao",
        "Số lượng hồ sơ: 1 bộ",
        "20 ngày làm việc",
        "Giấy phép xây dựng",
        "Lệ phí cấp giấy phép xây dựng: 150.000 đồng",
        "Mẫu số 01 - Đơn đề nghị cấp giấy phép xây dựng",
        "Yêu cầu, điều kiện thực hiện",
        "Luật Xây dựng số 50/2014/QH13",
        "một phần",
        "Phiên bản 2",
        "12/QĐ-SXD",
        "12/QĐ-SXD",
        "Quyết định công bố thủ tục hành chính lĩnh vực xây dựng",
        "27/11/2026",
    ]:
        assert text in page, text


def test_free_procedure_says_khong(notifier, owner, settings):
    state = procedure_state("MB.XD.002", 1)
    state["fees"] = []
    publish(notifier, owner, ("procedure", state))
    page = read(settings, "thu-tuc/MB.XD.002.html")
    assert re.search(r"<dt>Phí, lệ phí</dt><dd>Không</dd>", page)


def test_abolished_and_replaced_procedures_leave_the_lists(notifier, owner, settings):
    field = "Quy hoạch xây dựng, kiến trúc"
    publish(
        notifier,
        owner,
        ("procedure", procedure_state("MB.QH.001", 1, name="Thẩm định đồ án quy hoạch", field=field)),
        ("procedure", procedure_state("MB.QH.002", 1, name="Cấp chứng chỉ quy hoạch", field=field)),
        ("procedure", procedure_state("MB.XD.001", 1)),
    )
    slug = "quy-hoach-xay-dung-kien-truc"
    assert "MB.QH.001" in read(settings, "thu-tuc/index.html")
    assert "MB.QH.002" in read(settings, f"linh-vuc/{slug}.html")

    abolish = decision_ref(7, "45/QĐ-SXD", "2026-12-01")
    replace = decision_ref(8, "46/QĐ-SXD", "2026-12-02")
    publish(
        notifier,
        owner,
        (
            "procedure",
            procedure_state(
                "MB.QH.001",
                2,
                field=field,
                status="abolished",
                actions=[("new", decision_ref()), ("abolish", abolish)],
            ),
        ),
        (
            "procedure",
            procedure_state(
                "MB.QH.002",
                2,
                field=field,
                status="replaced",
                replaced_by="MB.XD.001",
                actions=[("new", decision_ref()), ("replace", replace)],
            ),
        ),
    )
    listing = read(settings, "thu-tuc/index.html")
    field_page = read(settings, f"linh-vuc/{slug}.html")
    home = read(settings, "index.html")
    for code in ("MB.QH.001", "MB.QH.002"):
        assert f"{code}.html" not in listing
        assert f"{code}.html" not in field_page
    assert "MB.XD.001" in listing
    assert "Hiện không có thủ tục nào của lĩnh vực này đang có hiệu lực" in field_page
    assert "Cải cách hành chính — Sở Xây dựng tỉnh Thái Bình" in home

    abolished = read(settings, "thu-tuc/MB.QH.001.html")
    assert "Thủ tục này đã bị bãi bỏ theo Quyết định số 45/QĐ-SXD" in abolished
    assert "01/12/2026" in abolished
    replaced = read(settings, "thu-tuc/MB.QH.002.html")
    assert "Thủ tục này đã được thay thế bởi thủ tục" in replaced
    assert '<a href="MB.XD.001.html">MB.XD.001' in replaced
    assert "theo Quyết định số 46/QĐ-SXD" in replaced


def test_decisions_list_marks_scheduled_ones(notifier, owner, settings):
    publish(
        notifier,
        owner,
        ("decision", decision_state(3, 1)),
        ("decision", decision_state(9, 1, number="99/QĐ-SXD", status="scheduled", effective_on="2027-01-01")),
    )
    listing = read(settings, "quyet-dinh/index.html")
    assert "99/QĐ-SXD" in listing and "sắp có hiệu lực" in listing and "01/01/2027" in listing
    page = read(settings, "quyet-dinh/9.html")
    assert "Quyết định sắp có hiệu lực: áp dụng từ ngày 01/01/2027" in page
    assert '<meta name="mb:version" content="1">' in page


def test_a_decision_in_effect_loses_its_scheduled_mark_in_the_list(notifier, owner, settings):
    # Each decision's row in the list is rendered once per version: a new version is a new row.
    scheduled = decision_state(9, 1, number="99/QĐ-SXD", status="scheduled", effective_on="2027-01-01")
    publish(notifier, owner, ("decision", decision_state(3, 1)), ("decision", scheduled))
    in_effect = decision_state(9, 2, number="99/QĐ-SXD", effective_on="2027-01-01")
    publish(notifier, owner, ("decision", in_effect))
    listing = read(settings, "quyet-dinh/index.html")
    row = next(line for line in listing.splitlines() if "99/QĐ-SXD" in line)
    assert 'data-version="2"' in row and "sắp có hiệu lực" not in row
    assert listing.count("<tr data-version=") == 2


def test_feed_is_atom_newest_first_with_stable_ids(notifier, owner, settings):
    publish(
        notifier, owner, ("procedure", procedure_state("MB.XD.001", 2)), ("decision", decision_state(3, 2))
    )
    raw = (settings.portal_dir / "feed.xml").read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(raw)  # noqa: S314 - the feed we just wrote
    ids = [e.findtext("a:id", namespaces=ns) for e in root.findall("a:entry", ns)]
    assert "urn:minhbach:procedure:MB.XD.001:v2" in ids and "urn:minhbach:procedure:MB.XD.001:v1" in ids
    assert "urn:minhbach:decision:3:v2" in ids
    updated = [e.findtext("a:updated", namespaces=ns) for e in root.findall("a:entry", ns)]
    assert updated == sorted(updated, reverse=True)
    assert "theo Quyết định số 22/QĐ-SXD" in raw.decode("utf-8")


def test_the_home_page_lists_the_latest_decisions_changes_first_among_a_days_changes(
    notifier, owner, settings
):
    # Both take effect at the same midnight; decision 9 was made after decision 5, so its
    # change is the latest, whatever the procedure codes' alphabetical order.
    publish(
        notifier,
        owner,
        ("procedure", procedure_state("MB.ZZ.001", 1, name="Thủ tục Z", actions=[("new", decision_ref(5))])),
        ("procedure", procedure_state("MB.AA.001", 1, name="Thủ tục A", actions=[("new", decision_ref(9))])),
    )
    home = read(settings, "index.html")
    assert home.index("Thủ tục A") < home.index("Thủ tục Z")


def test_a_procedure_change_is_dated_when_its_decision_was_applied(notifier, owner, settings):
    # In force from 28/11 (midnight), published and applied at 14:00 that day: the change
    # happened at 14:00, with its decision, not hours before anyone could see it.
    decision = decision_state(7, 1, number="70/QĐ-SXD", effective_on="2026-11-28")
    decision["applied_at"] = "2026-11-28T07:00:00Z"
    procedure = procedure_state("MB.XD.001", 1, actions=[("new", decision_ref(7, "70/QĐ-SXD", "2026-11-28"))])
    publish(notifier, owner, ("decision", decision), ("procedure", procedure))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring((settings.portal_dir / "feed.xml").read_bytes())  # noqa: S314 - the feed we just wrote
    updated = {
        e.findtext("a:id", namespaces=ns): e.findtext("a:updated", namespaces=ns)
        for e in root.findall("a:entry", ns)
    }
    assert updated["urn:minhbach:procedure:MB.XD.001:v1"] == updated["urn:minhbach:decision:7:v1"]
    assert str(updated["urn:minhbach:decision:7:v1"]).startswith("2026-11-28T")


def test_writes_are_atomic_and_leave_no_temp_files(notifier, owner, settings):
    for version in (1, 2, 3):
        publish(notifier, owner, ("procedure", procedure_state("MB.XD.001", version)))
    leftovers = [p for p in settings.portal_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    page = settings.portal_dir / "thu-tuc" / "MB.XD.001.html"
    assert oct(page.stat().st_mode & 0o777) == "0o644"
    assert '<meta name="mb:version" content="3">' in page.read_text(encoding="utf-8")


def test_a_reader_never_sees_half_a_page_while_it_is_rewritten(tmp_path):
    import threading

    from notifier.channels.pages import write_atomic

    page = tmp_path / "thu-tuc" / "MB.XD.001.html"
    # Big enough that a plain write would be caught half-done: many write() calls.
    pages = [f"<!doctype html><p>{'Thủ tục hành chính ' * 40_000}v{i}</p></html>" for i in range(2)]
    write_atomic(page, pages[0])
    seen: list[str] = []
    stop = threading.Event()

    def read_while_written() -> None:
        while not stop.is_set():
            seen.append(page.read_text(encoding="utf-8"))

    reader = threading.Thread(target=read_while_written)
    reader.start()
    try:
        for i in range(40):
            write_atomic(page, pages[i % 2])
    finally:
        stop.set()
        reader.join()
    assert len(seen) > 10, "the reader read while the page was rewritten"
    assert all(text in pages for text in seen), "a read returned something that was never a whole page"


def test_escapes_html_from_the_owner(notifier, owner, settings):
    publish(notifier, owner, ("procedure", procedure_state("MB.XD.003", 1, name="<script>alert(1)</script>")))
    page = read(settings, "thu-tuc/MB.XD.003.html")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def visible_text(page):
    """What a reader sees: the body without tags (and without the head's CSS)."""
    body = re.sub(r"(?s)^.*?<body>", "", page)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_a_fee_shows_its_amount_and_its_note_and_never_none(notifier, owner, settings):
    # procedures-sample.json: a fee set by the Ministry of Finance's tariff has no amount, only a note.
    state = procedure_state("MB.XD.006", 1, name="Thẩm định dự án đầu tư xây dựng")
    state["fees"] = [
        {
            "name": "Phí thẩm định dự án đầu tư xây dựng",
            "amount_vnd": None,
            "note": "Theo biểu phí của Bộ Tài chính",
        },
        {"name": "Lệ phí cấp chứng chỉ", "amount_vnd": 1250000, "note": "Nộp khi nhận kết quả"},
        {"name": "Lệ phí cấp lại", "amount_vnd": 15000},
    ]
    publish(notifier, owner, ("procedure", state))
    disclosure.run_channel(notifier, "center")
    for page in (
        read(settings, "thu-tuc/MB.XD.006.html"),
        (settings.center_dir / "thu-tuc/MB.XD.006.html").read_text(),
    ):
        text = visible_text(page)
        assert "Phí thẩm định dự án đầu tư xây dựng: Theo biểu phí của Bộ Tài chính" in text
        assert "Lệ phí cấp chứng chỉ: 1.250.000 đồng (Nộp khi nhận kết quả)" in text
        assert "Lệ phí cấp lại: 15.000 đồng" in text
        assert "None" not in text


def test_missing_optional_components_never_print_none(notifier, owner, settings):
    state = procedure_state("MB.XD.007", 1, name="Cấp chứng chỉ hành nghề")
    for key in PROCEDURE_COMPONENTS:
        if key not in ("name", "field", "fees"):  # what every page needs, and fees below
            state[key] = None
    state["fees"] = [{"name": "Lệ phí", "amount_vnd": None}]
    other = procedure_state("MB.XD.008", 1, name="Cấp chứng chỉ năng lực")
    other["processing_time"] = {"value": None, "unit": "working_days"}
    other["dossier"] = {"items": [{"name": "Đơn đề nghị", "originals": None, "copies": None}], "sets": None}
    publish(notifier, owner, ("procedure", state), ("procedure", other))
    disclosure.run_channel(notifier, "center")
    pages = {
        "thu-tuc/MB.XD.007.html": read(settings, "thu-tuc/MB.XD.007.html"),
        "thu-tuc/MB.XD.008.html": read(settings, "thu-tuc/MB.XD.008.html"),
        "thu-tuc/index.html": read(settings, "thu-tuc/index.html"),
        "linh-vuc/hoat-dong-xay-dung.html": read(settings, "linh-vuc/hoat-dong-xay-dung.html"),
        "index.html": read(settings, "index.html"),
        "center notice": (settings.center_dir / "thu-tuc/MB.XD.007.html").read_text(),
        "center board": (settings.center_dir / "index.html").read_text(),
    }
    for where, page in pages.items():
        text = visible_text(page)
        assert "None" not in text, where
        assert "· )" not in text, where
    seven = visible_text(pages["thu-tuc/MB.XD.007.html"])
    assert "Thời hạn giải quyết Chưa có thông tin" in seven
    assert "Lệ phí: Chưa có thông tin về mức thu" in seven
    assert "(MB.XD.007)" in visible_text(pages["thu-tuc/index.html"])
    eight = visible_text(pages["thu-tuc/MB.XD.008.html"])
    assert "Thời hạn giải quyết Chưa có thông tin" in eight
    # Papers named without counts are a plain list, not columns of dashes.
    assert "Thành phần hồ sơ Đơn đề nghị" in eight and "Bản chính" not in eight


def test_a_page_with_the_same_bytes_is_left_alone_and_a_changed_one_replaced(tmp_path):
    from notifier.channels.pages import write_atomic

    page = tmp_path / "van-ban" / "index.html"
    write_atomic(page, "<p>Văn bản</p>")
    before = page.stat()
    write_atomic(page, "<p>Văn bản</p>")
    assert (page.stat().st_ino, page.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    write_atomic(page, "<p>Văn bản mới</p>")
    assert page.stat().st_ino != before.st_ino
    assert page.read_text(encoding="utf-8") == "<p>Văn bản mới</p>"
    # Same size, other bytes: replaced too.
    write_atomic(page, "<p>Văn bản mớa</p>")
    assert page.read_text(encoding="utf-8") == "<p>Văn bản mớa</p>"


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def rewrite_and_count(directory: Path, times: int) -> tuple[int, int]:
    """Rewrite one page `times` times: (most files this process held meanwhile, more than
    before, and files held once the old pages are let go, waited for up to 10 s; fewer
    than before when pages of an earlier test were still being let go)."""
    from notifier.channels.pages import write_atomic

    page = directory / "thu-tuc" / "MB.XD.001.html"
    write_atomic(page, "<p>v0</p>")
    baseline = open_files()
    most = baseline
    for i in range(times):
        write_atomic(page, f"<p>v{i + 1}</p>")
        most = max(most, open_files())
    assert page.read_text(encoding="utf-8") == f"<p>v{times}</p>"
    deadline = time.monotonic() + 10
    while open_files() > baseline and time.monotonic() < deadline:
        time.sleep(0.01)
    return most - baseline, open_files() - baseline


def test_the_files_of_replaced_pages_are_let_go_and_never_pile_up(tmp_path):
    from notifier.channels.pages import _Releaser

    # The old file is held across the rename and closed on another thread (the freeing of
    # its blocks off the run's path): never more than the releaser's bound at once, and
    # none left once it caught up, or a worker would run out of files after some runs.
    most, left = rewrite_and_count(tmp_path, 2_000)
    assert most <= _Releaser.MOST_HELD + 2
    assert left <= 0


def test_a_forked_worker_lets_go_of_its_replaced_pages_too(tmp_path):
    from notifier.channels.pages import _Releaser

    # A Celery child is a fork: it starts without the parent's closing thread.
    rewrite_and_count(tmp_path / "parent", 10)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        most, left = pool.apply(rewrite_and_count, (tmp_path / "child", 500))
    assert left <= 0 and most <= _Releaser.MOST_HELD + 2


def test_a_page_read_back_is_read_again_only_when_its_file_changed(tmp_path, monkeypatch):
    from notifier.channels import pages

    page = tmp_path / "thu-tuc" / "MB.XD.001.html"
    pages.write_atomic(page, '<head><meta name="mb:version" content="1"></head><p>Thủ tục</p>')
    opened: list[Path] = []
    real_read_head = pages.read_head
    monkeypatch.setattr(pages, "read_head", lambda path: opened.append(path) or real_read_head(path))
    versions = pages.PageVersions()
    key = ("procedure", "MB.XD.001")
    assert versions.read({key: str(page)}) == {key: 1} and len(opened) == 1
    # The same file: known by its stat, not opened again.
    assert versions.read({key: str(page)}) == {key: 1} and len(opened) == 1
    # Replaced (a new file renamed over it): read again.
    pages.write_atomic(page, '<head><meta name="mb:version" content="2"></head><p>Thủ tục</p>')
    assert versions.read({key: str(page)}) == {key: 2} and len(opened) == 2
    # Damaged in place, its size and its mtime put back: its ctime still tells, and the
    # damaged marker reads as no version (reconcile then repairs it).
    before = page.stat()
    with page.open("r+b") as handle:
        handle.write(b"\xff\xfe<garbage>")
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert page.stat().st_size == before.st_size
    assert versions.read({key: str(page)}) == {key: None} and len(opened) == 3
    page.unlink()
    assert versions.read({key: str(page)}) == {key: None}
