"""The service-centre channel end to end: kiosk board, A4 notices and the live stream.

Real processes from the Procfile, a real redis-server; the kiosk's stream is read over
HTTP as a browser's EventSource would (the browser itself: tests/browser/test_center_kiosk.py).
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from minhbach_shared.auth import Role
from minhbach_testing.harness import System, today_in_vietnam
from minhbach_testing.plugin import wait_until


@contextmanager
def board_events(system: System) -> Iterator[queue.Queue[dict[str, str]]]:
    """Read /center/stream in a thread; each SSE event arrives as {"event", "id", "data"}."""
    events: queue.Queue[dict[str, str]] = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(5, read=None)) as client,
            client.stream("GET", f"{system.notifier_url}/center/stream") as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            event: dict[str, str] = {}
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if not line:
                    if "data" in event:
                        events.put(event)
                    event = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    event[name] = value.strip()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield events
    finally:
        stop.set()


def board_stamp(system: System) -> str:
    return str(system.portal_page("board.json", channel="center").json()["stamp"])


def test_a_procedure_put_in_force_reaches_the_kiosk_live_and_gets_its_notice(system: System, procedure_like):
    system.create_procedure(procedure_like("E2E.KSK.0", "Thủ tục có sẵn trên bảng"))
    system.decide(
        "130/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.KSK.0"}], effective_on=today_in_vietnam()
    )
    system.wait_for_page("index.html", "E2E.KSK.0", channel="center")

    with board_events(system) as events:
        first = events.get(timeout=10)
        assert first["event"] == "board" and json.loads(first["data"])["stamp"] == board_stamp(system)

        system.create_procedure(procedure_like("E2E.KSK.1", "Cấp chứng chỉ hành nghề hoạt động xây dựng"))
        published = system.decide(
            "131/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.KSK.1"}], effective_on=today_in_vietnam()
        )
        assert published.status_code == 200, published.text
        # The stream says so by itself; nobody polls the page.
        changed = json.loads(events.get(timeout=10)["data"])["stamp"]
        assert changed != json.loads(first["data"])["stamp"]

    board = system.portal_page("index.html", channel="center").text
    assert f'<meta name="mb:board" content="{changed}">' in board
    assert "Cấp chứng chỉ hành nghề hoạt động xây dựng" in board
    notice = system.wait_for_page("thu-tuc/E2E.KSK.1.html", "131/QĐ-SXD", channel="center")
    assert "Thủ tục hành chính niêm yết công khai" in notice and "@page { size: A4" in notice


def test_an_abolished_procedure_leaves_the_board_and_its_notice_says_take_it_down(
    system: System, procedure_like
):
    system.create_procedure(procedure_like("E2E.KSK.2", "Thủ tục sẽ bị bãi bỏ tại Trung tâm"))
    system.decide(
        "132/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.KSK.2"}], effective_on=today_in_vietnam()
    )
    system.wait_for_page("index.html", "E2E.KSK.2", channel="center")

    abolished = system.decide(
        "133/QĐ-SXD", [{"action": "abolish", "procedure_code": "E2E.KSK.2"}], effective_on=today_in_vietnam()
    )
    assert abolished.status_code == 200, abolished.text
    notice = system.wait_for_page("thu-tuc/E2E.KSK.2.html", "ĐÃ BÃI BỎ", channel="center")
    assert "theo Quyết định số 133/QĐ-SXD" in notice and "gỡ bản niêm yết" in notice
    wait_until(
        lambda: 'data-code="E2E.KSK.2"' not in system.portal_page("index.html", channel="center").text,
        timeout=10,
        message="the abolished procedure off the kiosk board",
    )


def test_the_hotline_phones_and_hours_are_on_the_kiosk(system: System):
    from hotline.settings import DEMO_OFFICE_HOURS, DEMO_PHONES

    # The notifier fetches the hotline's public statistics (phones, hours) on its own.
    board = system.wait_for_page("index.html", DEMO_PHONES[0], timeout=30, channel="center")
    assert "Đường dây nóng của Sở Xây dựng" in board and DEMO_OFFICE_HOURS in board


def test_the_disclosure_report_counts_the_centre(system: System, procedure_like):
    system.create_procedure(procedure_like("E2E.KSK.3", "Thủ tục trong báo cáo công khai"))
    system.decide(
        "134/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.KSK.3"}], effective_on=today_in_vietnam()
    )

    def row() -> dict[str, object] | None:
        with system.notifier() as api:
            subjects = api.get("/v1/disclosure/report", headers=system.token(Role.OPERATOR)).json()[
                "subjects"
            ]
        found = [s for s in subjects if s["id"] == "E2E.KSK.3"]
        channels = found[0]["channels"] if found else {}
        done = all(channels.get(c, {}).get("state") == "current" for c in ("portal", "center"))
        return found[0] if found and done else None

    shown = wait_until(row, timeout=15, message="E2E.KSK.3 current on the portal and at the centre")
    assert set(shown["channels"]) >= {"portal", "center"}
