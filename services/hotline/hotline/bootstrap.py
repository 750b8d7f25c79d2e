"""Wiring built from settings, with nothing done at import: the Celery app."""

from __future__ import annotations

from celery import Celery

from hotline.settings import Settings
from minhbach_shared import names
from minhbach_shared.celery import make_owner_celery


def create_celery(settings: Settings) -> Celery:
    """The service's app: sends to the notifier (relay) and to its own queue (API, beat)."""
    return make_owner_celery(
        "hotline",
        settings,
        queue=names.HOTLINE_QUEUE,
        periodic_task=names.CHECK_OVERDUE_TASK,
        every_s=settings.check_overdue_every_s,
    )
