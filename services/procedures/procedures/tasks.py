"""Thin tasks: parse arguments, call a use case."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from celery import shared_task
from redis import Redis
from sqlalchemy import Engine

from minhbach_shared import names, times
from minhbach_shared.db import make_engine
from minhbach_shared.outbox import relay_waker
from procedures import services
from procedures.settings import Settings
from procedures.uow import UnitOfWork


@cache
def _resources() -> tuple[Engine, Callable[[], None]]:
    # Built on first use in the worker process, never at import.
    settings = Settings()
    return make_engine(settings.database_url), relay_waker(Redis.from_url(settings.redis_url), "procedures")


@shared_task(name=names.APPLY_DUE_TASK)
def apply_due_decisions(as_of: str | None = None) -> int:
    """Apply scheduled decisions due at `as_of` (ISO timestamp; default now)."""
    now = times.as_of(as_of)
    engine, wake = _resources()

    def run_again_in(countdown_s: float) -> None:
        apply_due_decisions.apply_async(countdown=countdown_s)

    # Time moved by hand (as_of) looks no further ahead: the test drives every tick.
    return services.apply_due_decisions(
        lambda: UnitOfWork(engine, wake), now=now, schedule_apply=None if as_of else run_again_in
    )
