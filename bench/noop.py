"""A no-op Celery task on the platform's Celery settings: the baseline for `bench.run`.

celery -A bench.noop worker -Q bench.noop --pool solo

The task only tells the client it ran (LPUSH on a Redis list the client BLPOPs), so a
round trip is: publish, the worker fetches and runs the task, the client is told.
No result backend: the services run without one too.
"""

from __future__ import annotations

from typing import Any

import redis

from minhbach_shared.celery import make_celery
from minhbach_shared.settings import BaseServiceSettings

QUEUE = "bench.noop"
TASK = "bench.noop.ping"
DONE_KEY = "mb:bench:noop:done"


def create_app(redis_url: str | None = None) -> Any:
    settings = BaseServiceSettings() if redis_url is None else BaseServiceSettings(redis_url=redis_url)
    return make_celery("bench.noop", settings, queues=[QUEUE])


app = create_app()
_redis: redis.Redis | None = None


@app.task(name=TASK)
def ping(token: str) -> None:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(app.conf.broker_url)
    _redis.lpush(DONE_KEY, token)
