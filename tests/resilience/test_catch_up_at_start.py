"""A notifier that starts before its owners catches up at once, not at beat's first tick.

No beat runs here at all: the only reconcile is the one the notifier's worker asks for
when it starts, and the hotline starts after it (as in `make up` or a compose restart,
where nothing waits for anything). The kiosk must still get the hotline's phones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from minhbach_testing.harness import System
from minhbach_testing.plugin import RedisServer, free_port, wait_until


@pytest.fixture
def notifier_first(tmp_path: Path) -> Iterator[System]:
    redis = RedisServer(port=free_port(), dir=tmp_path / "redis")
    redis.start()
    system = System(root=tmp_path, redis=redis)
    try:
        system.manage("notifier", "migrate")
        system.manage("hotline", "migrate")
        for name in ("notifier", "notifier-events", "notifier-maintenance", "notifier-center"):
            system.start_process(name)
        yield system
    finally:
        system.stop()
        redis.stop()


def test_the_kiosk_gets_the_hotline_phones_from_an_owner_that_started_later(notifier_first: System):
    from hotline.settings import DEMO_PHONES

    system = notifier_first
    wait_until(
        lambda: "owner unreachable" in system.processes["notifier-maintenance"].tail(200),
        timeout=20,
        message="the start-up reconcile found the owners down",
    )
    system.start_process("hotline")
    board = system.wait_for_page("index.html", DEMO_PHONES[0], timeout=20, channel="center")
    assert "Đường dây nóng của Sở Xây dựng" in board
