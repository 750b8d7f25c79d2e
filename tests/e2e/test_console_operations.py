"""The operator's pages against the running system (notifier, its workers, the console):
the channels and queues as the notifier reports them, a resync behind a confirmation and
written to the action log with who did it, the disclosure report as a table and as CSV;
every worker of the system online and every queue taken, each owner's outbox, and the
reconciliation round that put back a portal page this test deleted. Only operators get in.
The system is shared with other tests: assertions are about what this test did or what
the demo data always holds. A dead delivery retried from the console:
tests/resilience/test_console_retry.py."""

from __future__ import annotations

import csv
import io
import re
import socket
from typing import Any

import httpx

from console.operations_health import queue_label
from minhbach_testing.harness import System, today_in_vietnam
from minhbach_testing.html import cells, row, section
from minhbach_testing.plugin import wait_until

OPERATOR, EDITOR = "vanhanh", "bientap"


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


# Every Celery worker of the Procfile (its -n name) and the queues the system has.
WORKERS = ("procedures", "content", "hotline", "events", "portal", "center", "dvc", "email")
QUEUES = (
    "events",
    "notifier",
    "channel.portal",
    "channel.center",
    "channel.dvc",
    "channel.email",
    "procedures",
    "content",
    "hotline",
)


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


def test_an_operator_sees_every_worker_each_outbox_and_what_reconciliation_put_back(
    system: System, procedure_like: Any
) -> None:
    code = "E2E.OPS.1"
    system.create_procedure(procedure_like(code, "Cấp chứng chỉ hành nghề hoạt động xây dựng (vận hành)"))
    decided = system.decide(
        "301/QĐ-SXD", [{"action": "new", "procedure_code": code}], effective_on=today_in_vietnam()
    )
    assert decided.status_code == 200, decided.text
    system.wait_for_page(f"thu-tuc/{code}.html", code)
    # The portal loses the page (a wiped disk, a careless hand): reconciliation puts it back.
    (system.portal_dir / "thu-tuc" / f"{code}.html").unlink()
    system.wait_for_page(f"thu-tuc/{code}.html", code, timeout=30)

    host = socket.gethostname()
    with system.console(OPERATOR) as operator:

        def settled() -> str | None:
            # Every worker has beaten since it started, and every queue has one.
            page = operator.get("/console/operations")
            assert page.status_code == 200, page.text[:500]
            queues = section(page.text, "hang-doi")
            return None if 'class="problem"' in queues or "Không có worker" in page.text else page.text

        home = str(wait_until(settled, timeout=30, message="every queue taken by a worker"))
        queues = section(home, "hang-doi")
        for queue in QUEUES:
            taken = cells(row(queues, queue_label(queue)))
            assert int(taken[0]) >= 1, (queue, taken)
        workers = section(home, "worker")
        for name in WORKERS:
            worker = row(workers, f"{name}@{host}")
            assert "Đang hoạt động" in worker and "Mất liên lạc" not in worker, worker
        portal = cells(row(section(home, "kenh"), "Cổng thông tin"))
        assert "chưa có" not in portal[5] and "chưa có" not in portal[6]  # it ran, and delivered

        outboxes = section(home, "hang-cho-gui")
        for owner in ("Dịch vụ thủ tục hành chính", "Dịch vụ tin bài và văn bản", "Dịch vụ đường dây nóng"):
            assert "Bình thường" in row(outboxes, owner), owner
        for owner in ("Dịch vụ thủ tục hành chính", "Dịch vụ tin bài và văn bản"):  # the demo's events
            assert "<time datetime=" in cells(row(outboxes, owner))[3], owner  # not "chưa có"
        assert "không liên lạc được" not in outboxes

        rounds = section(home, "doi-soat")
        assert "Lần đối soát gần nhất" in rounds
        repaired = re.search(r"(\d+) lần phải sửa sai lệch", rounds)
        assert repaired and int(repaired.group(1)) >= 1, rounds

        details = operator.get("/console/operations/reconciliation")
        assert details.status_code == 200
        ours = [r for r in details.text.split('<section class="round"')[1:] if f"Thủ tục {code}" in r]
        assert ours, details.text[:3000]
        # An operator opens it on the portal, as the public sees it.
        assert f'<a href="{system.notifier_url}/portal/thu-tuc/{code}.html">Thủ tục {code}</a>' in ours[0]
        assert "Gửi lại lên Cổng thông tin" in ours[0]
        assert "khi khởi động" not in ours[0].split("</h3>")[0]  # drift, not a start-up catch-up
