"""The "run under way" flag: renewed while a run lasts, lapsing soon after a worker dies."""

import signal
import subprocess
import sys
import time

from minhbach_testing.plugin import wait_until
from notifier.broker import CeleryDispatcher, running


def test_a_long_run_keeps_its_flag_and_clears_it_when_done(redis_client, celery_app):
    dispatcher = CeleryDispatcher(celery=celery_app, redis=redis_client)
    with running(dispatcher, "dvc", ttl_s=0.3):
        for _ in range(8):  # four times the TTL: the heartbeat renews it
            time.sleep(0.15)
            assert dispatcher.is_running("dvc")
    assert not dispatcher.is_running("dvc")


# A worker in the middle of a run that never ends (a portal that never answers).
WORKER = """
import sys, time, redis
from notifier.broker import CeleryDispatcher, running
dispatcher = CeleryDispatcher(celery=None, redis=redis.Redis.from_url(sys.argv[1]))
with running(dispatcher, "dvc", ttl_s=0.5):
    time.sleep(60)
"""


def test_a_worker_killed_mid_run_leaves_a_flag_that_lapses_within_its_ttl(
    redis_server, redis_client, celery_app
):
    dispatcher = CeleryDispatcher(celery=celery_app, redis=redis_client)
    worker = subprocess.Popen([sys.executable, "-c", WORKER, redis_server.url])
    try:
        wait_until(lambda: dispatcher.is_running("dvc"), timeout=20, message="the run under way")
        time.sleep(1.0)
        assert dispatcher.is_running("dvc"), "renewed while the worker lives"
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        wait_until(
            lambda: not dispatcher.is_running("dvc"), timeout=5, message="the dead run's flag to lapse"
        )
    finally:
        worker.kill()
        worker.wait()
