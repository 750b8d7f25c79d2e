"""Thin tasks: parse arguments, call a use case."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from celery import shared_task
from redis import Redis
from sqlalchemy import Engine

from content import services
from content.settings import Settings
from content.uow import UnitOfWork
from minhbach_shared import names, times
from minhbach_shared.db import make_engine
from minhbach_shared.outbox import relay_waker


@cache
def _resources() -> tuple[Engine, Callable[[], None]]:
    # Built on first use in the worker process, never at import.
    settings = Settings()
    return make_engine(settings.database_url), relay_waker(Redis.from_url(settings.redis_url), "content")


@shared_task(name=names.APPLY_SCHEDULE_TASK)
def apply_schedule(as_of: str | None = None) -> int:
    """Publish due scheduled articles and expire old ones, as of `as_of` (ISO; default now)."""
    engine, wake = _resources()

    def run_again_in(countdown_s: float) -> None:
        apply_schedule.apply_async(countdown=countdown_s)

    # Time moved by hand (as_of) looks no further ahead: the test drives every tick.
    return services.apply_schedule(
        lambda: UnitOfWork(engine, wake),
        now=times.as_of(as_of),
        schedule_apply=None if as_of else run_again_in,
    )
