"""Wiring shared by the API and the worker: everything is built here, from settings."""

from __future__ import annotations

from typing import Any

import redis as redis_lib
from celery import Celery

from minhbach_shared import names
from minhbach_shared.celery import make_celery
from minhbach_shared.db import make_engine
from notifier.broker import CeleryDispatcher
from notifier.channels import QUEUED, build_channels, build_mailer
from notifier.owners import OwnerRegistry, http_registry
from notifier.parts import Parts
from notifier.settings import Settings

# How often beat asks whether last week's briefing is due (it is planned once a week).
BRIEFING_CHECK_S = 3600.0


def queues() -> list[str]:
    return [names.EVENTS_QUEUE, *(names.channel_queue(c) for c in QUEUED), names.NOTIFIER_QUEUE]


def watched_queues() -> list[str]:
    """The queues operators watch (/v1/ops/queues, /metrics): the notifier's and the owners'."""
    return [*queues(), names.PROCEDURES_QUEUE, names.CONTENT_QUEUE, names.HOTLINE_QUEUE]


def make_notifier_celery(settings: Settings) -> Celery:
    routes: dict[str, dict[str, str]] = {
        names.INGEST_TASK: {"queue": names.EVENTS_QUEUE},
        # The pump is the retry clock (due deliveries, stalled channel workers): it ticks
        # beside the changes, never behind a reconcile round, which takes seconds with an
        # owner down (each unreachable owner costs its connect retries) or at 10,000
        # procedures, while the deliveries that failed wait for it.
        names.PUMP_TASK: {"queue": names.EVENTS_QUEUE},
        names.RECONCILE_TASK: {"queue": names.NOTIFIER_QUEUE},
        names.BRIEFING_TASK: {"queue": names.NOTIFIER_QUEUE},
        **{names.channel_task(c): {"queue": names.channel_queue(c)} for c in QUEUED},
    }
    # A beat tick that finds its queue still full is worthless: let it expire.
    beat: dict[str, dict[str, Any]] = {
        names.PUMP_TASK: {
            "task": names.PUMP_TASK,
            "schedule": settings.pump_interval_s,
            "options": {"queue": names.EVENTS_QUEUE, "expires": settings.pump_interval_s * 2},
        },
        names.RECONCILE_TASK: {
            "task": names.RECONCILE_TASK,
            "schedule": settings.reconcile_interval_s,
            "options": {"queue": names.NOTIFIER_QUEUE, "expires": settings.reconcile_interval_s},
        },
        names.BRIEFING_TASK: {
            "task": names.BRIEFING_TASK,
            "schedule": BRIEFING_CHECK_S,
            "options": {"queue": names.NOTIFIER_QUEUE, "expires": BRIEFING_CHECK_S},
        },
    }
    return make_celery(
        "notifier",
        settings,
        queues=queues(),
        task_routes=routes,
        beat_schedule=beat,
        include=["notifier.tasks"],
    )


def build_parts(
    settings: Settings,
    *,
    celery: Celery,
    owners: OwnerRegistry | None = None,
    redis: Any = None,
) -> Parts:
    """What every use case takes: the database, the owners, the channels, the queues."""
    redis = redis if redis is not None else redis_lib.Redis.from_url(settings.redis_url)
    return Parts(
        engine=make_engine(settings.database_url),
        owners=owners
        or http_registry(
            {
                "procedures": settings.procedures_url,
                "content": settings.content_url,
                "hotline": settings.hotline_url,
            },
            timeout_s=settings.owner_timeout_s,
        ),
        channels=build_channels(settings),
        mailer=build_mailer(settings),
        dispatcher=CeleryDispatcher(celery=celery, redis=redis),
        settings=settings,
    )
