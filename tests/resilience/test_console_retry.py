"""An operator retries a dead delivery from the console, and the portal catches up.

A system of its own (the backbone and the console; no content or hotline service): its
portal cannot write procedure pages for a while (the portal's thu-tuc folder is put aside
and a file stands in its place, as a disk mounted wrong would leave it; this holds as root
too, where permissions would not). A procedure amended meanwhile reaches the service
centre, but its portal delivery fails twice and is dead (NOTIFIER_MAX_ATTEMPTS=2). The
cause is fixed; nothing retries a dead delivery by itself (reconciliation leaves work that
is owed alone), so the portal keeps the old version until the operator presses "Thử lại"
on the console's page, through its HTML form as a browser would. Then the portal shows the
new version, and the action log says who retried what. The owners that are not running
show as not reachable on the same page, which still answers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minhbach_shared.auth import Role
from minhbach_testing.harness import CORE_PROCESSES, System, running_system, today_in_vietnam
from minhbach_testing.plugin import wait_until

CODE = "E2E.DEAD.1"
RECONCILE_S = 3.0  # the harness's NOTIFIER_RECONCILE_INTERVAL_S


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    with running_system(tmp_path, (*CORE_PROCESSES, "console"), NOTIFIER_MAX_ATTEMPTS="2") as running:
        running.manage("console", "demo-accounts")
        yield running


def section(text: str, anchor: str) -> str:
    start = text.index(f'<h2 id="{anchor}">')
    end = text.find("<h2", start + 1)
    return text[start : end if end > 0 else None]


def csrf(text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert found, text[:500]
    return found.group(1)


def amend(system: System, days: int) -> None:
    with system.procedures() as api:
        edited = api.patch(
            f"/v1/procedures/{CODE}",
            json={"processing_time": {"value": days, "unit": "working_days"}},
            headers=system.token(Role.EDITOR),
        )
        assert edited.status_code == 200, edited.text
    decided = system.decide(
        "402/QĐ-SXD", [{"action": "amend", "procedure_code": CODE}], effective_on=today_in_vietnam()
    )
    assert decided.status_code == 200, decided.text


def test_an_operator_retries_a_dead_delivery_and_the_portal_catches_up(
    system: System, procedure_like: Any
) -> None:
    system.create_procedure(procedure_like(CODE, "Cấp giấy phép di dời công trình"))
    decided = system.decide(
        "401/QĐ-SXD", [{"action": "new", "procedure_code": CODE}], effective_on=today_in_vietnam()
    )
    assert decided.status_code == 200, decided.text
    wait_until(lambda: system.shown_version(CODE) == 1, timeout=20, message="the portal shows version 1")

    pages, aside = system.portal_dir / "thu-tuc", system.portal_dir / "thu-tuc.aside"
    pages.rename(aside)
    pages.write_text("not a folder")
    amend(system, days=9)

    def dead() -> dict[str, Any] | None:
        rows = system.deliveries("dead", channel="portal", subject_id=CODE)
        return next((d for d in rows if d["version"] == 2), None)

    delivery = wait_until(dead, timeout=30, message="the portal's delivery of version 2 dead")
    assert isinstance(delivery, dict) and delivery["attempts"] == 2 and delivery["last_error"]
    # One broken channel holds no other back.
    wait_until(lambda: system.shown_version(CODE, "center") == 2, timeout=20, message="the centre has v2")

    # The cause is fixed; the dead delivery stays dead: the portal keeps version 1.
    pages.unlink()
    aside.rename(pages)
    time.sleep(2 * RECONCILE_S + 1)
    assert system.shown_version(CODE) == 1
    assert dead() is not None

    retry = f"/console/operations/deliveries/{delivery['id']}/retry"
    with system.console("vanhanh") as operator:
        home = operator.get("/console/operations")
        assert home.status_code == 200, home.text[:500]
        troubled = section(home.text, "luot-gui-loi")
        row = re.search(rf'<tr>(?:(?!</tr>).)*action="{re.escape(retry)}".*?</tr>', troubled, re.S)
        assert row, troubled
        assert f"Thủ tục {CODE}" in row.group(0) and "(phiên bản 2)" in row.group(0)
        assert "Hỏng hẳn" in row.group(0) and "Cổng thông tin" in row.group(0)
        assert "lượt gửi hỏng hẳn chờ người thử lại" in section(home.text, "can-chu-y")
        # The owners that are not running: their rows say so, the page stands.
        outboxes = section(home.text, "hang-cho-gui")
        assert outboxes.count("không liên lạc được dịch vụ này") == 2

        done = operator.post(retry, data={"csrf_token": csrf(home.text)})
        assert done.status_code == 303, done.text[:500]
        assert done.headers["location"] == "/console/operations?msg=delivery_retried"

        system.wait_for_page(f"thu-tuc/{CODE}.html", 'content="2"', timeout=20)
        assert "9 ngày làm việc" in system.portal_page(f"thu-tuc/{CODE}.html").text

        after = operator.get(done.headers["location"])
        assert "Đã đặt lại lượt gửi để gửi ngay" in after.text
        log = section(after.text, "nhat-ky")
        for words in (
            "Hoàng Văn Hành",  # the demo operator, by name
            "Thử lại một lượt gửi",
            f"lượt gửi số {delivery['id']}",
            f"Thủ tục {CODE}, phiên bản 2, Cổng thông tin",
        ):
            assert words in log, words
        wait_until(
            lambda: retry not in operator.get("/console/operations").text,
            timeout=10,
            message="the delivery no longer listed as failed",
        )
