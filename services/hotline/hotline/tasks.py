"""Thin tasks: parse arguments, call a use case."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from celery import shared_task
from redis import Redis
from sqlalchemy import Engine

from hotline import services
from hotline.settings import Settings
from hotline.uow import UnitOfWork
from minhbach_shared import names, times
from minhbach_shared.db import make_engine
from minhbach_shared.outbox import relay_waker


@cache
def _resources() -> tuple[Engine, Callable[[], None], services.Policy]:
    # Built on first use in the worker process, never at import.
    settings = Settings()
    return (
        make_engine(settings.database_url),
        relay_waker(Redis.from_url(settings.redis_url), "hotline"),
        services.Policy.from_settings(settings),
    )


@shared_task(name=names.CHECK_OVERDUE_TASK)
def check_overdue(as_of: str | None = None) -> int:
    """Emit ticket.overdue for tickets overdue at `as_of` (ISO timestamp; default now), once a day each."""
    now = times.as_of(as_of)
    engine, wake, policy = _resources()
    return services.check_overdue(lambda: UnitOfWork(engine, wake), now=now, calendar=policy.calendar)
