"""Wiring built from settings, with nothing done at import: the Celery app."""

from __future__ import annotations

from celery import Celery

from minhbach_shared import names
from minhbach_shared.celery import make_owner_celery
from procedures.settings import Settings


def create_celery(settings: Settings) -> Celery:
    """The service's app: sends to the notifier (relay) and to its own queue (API, beat)."""
    return make_owner_celery(
        "procedures",
        settings,
        queue=names.PROCEDURES_QUEUE,
        periodic_task=names.APPLY_DUE_TASK,
        every_s=settings.apply_due_every_s,
    )
