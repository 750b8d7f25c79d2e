"""A real Celery worker process consumes notifier.ingest and writes the portal."""

import re
import shutil
import sys
from pathlib import Path

import pytest

from minhbach_shared import names
from minhbach_testing.notifier import envelope, procedure_state, worker_env
from minhbach_testing.plugin import ServiceProcess, wait_until


@pytest.fixture
def worker(tmp_path, settings, owner_server):
    env = worker_env(settings, owner_server)
    argv = [
        "celery", "-A", "notifier.worker", "worker",
        "-Q", ",".join([names.EVENTS_QUEUE, names.channel_queue("portal"), names.NOTIFIER_QUEUE]),
        "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
    ]  # fmt: skip
    celery_bin = shutil.which("celery") or str(Path(sys.executable).parent / "celery")
    process = ServiceProcess("notifier-worker", [celery_bin, *argv[1:]], env, tmp_path / "worker.log").start()
    yield process
    process.stop()


def shown_version(path):
    try:
        match = re.search(r'<meta name="mb:version" content="(\d+)">', path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return int(match.group(1)) if match else None


def test_worker_ingests_and_coalesces_a_burst(worker, celery_app, owner, settings, redis_client):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    celery_app.send_task(
        names.INGEST_TASK, args=[[envelope("procedure", "MB.XD.001", 1)]], queue=names.EVENTS_QUEUE
    )
    page = settings.portal_dir / "thu-tuc" / "MB.XD.001.html"
    wait_until(lambda: (worker.assert_alive(), shown_version(page) == 1)[1], timeout=30, message="page v1")
    # The subject page is written first, the index pages right after it in the same run.
    wait_until((settings.portal_dir / "index.html").exists, timeout=30, message="home page")

    # A burst: 200 events for 50 subjects, 10 envelopes per message, as a relay sends them.
    codes = [f"MB.XD.{n:03d}" for n in range(100, 150)]
    events = []
    for version in range(1, 5):
        for code in codes:
            owner.put("procedure", procedure_state(code, version))
            events.append(envelope("procedure", code, version))
    runs_before = int(redis_client.hget("mb:notifier:channel-runs", "portal") or 0)
    for start in range(0, len(events), 10):
        celery_app.send_task(names.INGEST_TASK, args=[events[start : start + 10]], queue=names.EVENTS_QUEUE)

    def all_current():
        worker.assert_alive()
        return all(shown_version(settings.portal_dir / "thu-tuc" / f"{c}.html") == 4 for c in codes)

    wait_until(all_current, timeout=60, interval=0.2, message="every page at version 4")
    wait_until(
        lambda: redis_client.llen(names.channel_queue("portal")) == 0, timeout=30, message="queue drained"
    )
    runs = int(redis_client.hget("mb:notifier:channel-runs", "portal") or 0) - runs_before
    assert 1 <= runs <= 10, f"{runs} channel runs for 20 ingest messages"


def test_a_running_worker_beats_and_a_stopped_one_leaves(worker, make_notifier):
    """What /metrics counts as a queue's consumers: a worker says so while it runs, and a
    worker stopped on purpose leaves no entry behind (no alert for scaling down)."""
    dispatcher = make_notifier().dispatcher

    def online():
        worker.assert_alive()
        return [w for w in dispatcher.workers() if w["online"]]

    wait_until(online, timeout=30, message="the worker's heartbeat")
    [seen] = online()
    assert set(seen["queues"]) == {names.EVENTS_QUEUE, names.channel_queue("portal"), names.NOTIFIER_QUEUE}
    assert seen["pid"] == worker.proc.pid
    worker.stop()
    assert dispatcher.workers() == []
