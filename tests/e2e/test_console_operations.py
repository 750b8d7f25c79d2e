"""The operator's pages against the running system (notifier, its workers, the console):
the channels and queues as the notifier reports them, a resync behind a confirmation and
written to the action log with who did it, the disclosure report as a table and as CSV.
Only operators get in. The system is shared with other tests: assertions are about what
this test did or what the demo data always holds."""

from __future__ import annotations

import csv
import io
import re

import httpx

from minhbach_testing.harness import System

OPERATOR, EDITOR = "vanhanh", "bientap"


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def test_an_operator_sees_the_channels_resyncs_one_and_downloads_the_report(system: System) -> None:
    system.wait_for_page("thu-tuc/MB.XD.001.html", "MB.XD.001")
    with system.console(OPERATOR) as operator:
        home = operator.get("/console/operations")
        assert home.status_code == 200, home.text[:500]
        for words in ("Cổng thông tin", "Trung tâm phục vụ hành chính công", "Hàng đợi", "Nhật ký thao tác"):
            assert words in home.text, words

        confirm = operator.get("/console/operations/resync/portal")
        assert confirm.status_code == 200 and 'action="/console/operations/resync/portal"' in confirm.text
        done = operator.post("/console/operations/resync/portal", data={"csrf_token": csrf(confirm)})
        assert done.status_code == 303, done.text[:500]
        after = operator.get(done.headers["location"])
        log = after.text[after.text.index("Nhật ký thao tác") :]
        assert "Đồng bộ lại kênh" in log and "Hoàng Văn Hành" in log  # the demo operator, by name

        report = operator.get("/console/operations/report", params={"kind": "procedure"})
        assert report.status_code == 200 and "MB.XD.001" in report.text
        download = operator.get("/console/operations/report.csv", params={"kind": "procedure"})
        assert download.status_code == 200 and download.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
        assert rows[0][0] and any("MB.XD.001" in row for row in rows[1:])

    with system.console(EDITOR) as editor:
        assert editor.get("/console/operations").status_code == 403
        assert editor.get("/console/operations/report.csv").status_code == 403
