"""A stopped channel worker is noticed: Prometheus (Debian's binary, the repository's rules)
scrapes the running notifier and the "channel behind" alert fires, then clears once the
worker is back.

The alert waits for a delivery five minutes old; the test does not wait five minutes: it
moves the pending delivery's time back six minutes in the notifier's database (what the
clock would have done), so the rule sees what it would see at 3 a.m. Nothing rescues the
channel meanwhile: the pump's stall rescue (NOTIFIER_CHANNEL_STALL_S, a minute by
default, which would deliver it and spare the public) is set beyond the test.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from minhbach_testing.harness import CORE_PROCESSES, System, running_system, today_in_vietnam
from minhbach_testing.plugin import REPO_ROOT, free_port, wait_until

RULES = REPO_ROOT / "deploy" / "prometheus" / "alerts.yml"
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    with running_system(tmp_path, CORE_PROCESSES, NOTIFIER_CHANNEL_STALL_S="3600") as running:
        yield running


@pytest.fixture
def prometheus(tmp_path: Path, system: System) -> Iterator[str]:
    """A real Prometheus scraping the notifier every second, evaluating the rules every second."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: scripts/install-system-deps.sh installs Debian's"
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{RULES}"]
scrape_configs:
  - job_name: notifier
    static_configs: [{{targets: ["127.0.0.1:{system.notifier_port}"]}}]
""",
        encoding="utf-8",
    )
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url), timeout=30, message="prometheus ready")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def alerts(url: str, name: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{url}/api/v1/alerts", timeout=5).json()
    return [a for a in body["data"]["alerts"] if a["labels"]["alertname"] == name]


def scraped(url: str, metric: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = httpx.get(
        f"{url}/api/v1/query", params={"query": metric}, timeout=5
    ).json()["data"]["result"]
    return result


def portal_waiting(system: System) -> list[dict[str, Any]]:
    return system.deliveries("pending", channel="portal")


def move_pending_back(system: System, minutes: int) -> int:
    """What the clock does in `minutes`: the portal's pending deliveries become that old."""
    with sqlite3.connect(system.root / "var" / "notifier.db") as db:
        rows = db.execute(
            "SELECT id, created_at FROM deliveries WHERE channel = 'portal' AND status = 'pending'"
        ).fetchall()
        for delivery_id, created_at in rows:
            earlier = datetime.fromisoformat(created_at) - timedelta(minutes=minutes)
            db.execute(
                "UPDATE deliveries SET created_at = ? WHERE id = ?",
                (earlier.strftime(SQLITE_TIME), delivery_id),
            )
    return len(rows)


def test_a_stopped_portal_worker_fires_channel_behind_and_it_clears(
    system: System, prometheus: str, procedure_like: Any
) -> None:
    system.processes["notifier-portal"].stop()
    system.create_procedure(procedure_like("MB.XD.001"))
    published = system.decide(
        "101/QĐ-SXD", [{"action": "new", "procedure_code": "MB.XD.001"}], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text
    wait_until(lambda: portal_waiting(system), timeout=30, message="a portal delivery waiting")
    # Seconds old: the public waits, but not yet long enough to wake anyone.
    wait_until(lambda: scraped(prometheus, "mb_channel_pending"), timeout=30, message="the notifier scraped")
    assert alerts(prometheus, "ChannelBehind") == []

    assert move_pending_back(system, minutes=6) >= 1
    wait_until(
        lambda: [a for a in alerts(prometheus, "ChannelBehind") if a["state"] == "firing"],
        timeout=30,
        message="ChannelBehind firing",
    )
    [fired] = alerts(prometheus, "ChannelBehind")
    assert fired["labels"]["channel"] == "portal" and fired["labels"]["severity"] == "critical"
    assert float(fired["value"]) >= 360

    # The operator starts the worker again: the page goes out and the alert clears.
    system.start_process("notifier-portal")
    wait_until(lambda: system.shown_version("MB.XD.001") == 1, timeout=60, message="portal page out")
    wait_until(lambda: alerts(prometheus, "ChannelBehind") == [], timeout=30, message="ChannelBehind cleared")
