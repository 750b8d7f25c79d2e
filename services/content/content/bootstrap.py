"""Wiring built from settings, with nothing done at import: the Celery app."""

from __future__ import annotations

from celery import Celery

from content.settings import Settings
from minhbach_shared import names
from minhbach_shared.celery import make_owner_celery


def create_celery(settings: Settings) -> Celery:
    """The service's app: sends to the notifier (relay) and to its own queue (API, beat)."""
    return make_owner_celery(
        "content",
        settings,
        queue=names.CONTENT_QUEUE,
        periodic_task=names.APPLY_SCHEDULE_TASK,
        every_s=settings.apply_schedule_every_s,
    )
