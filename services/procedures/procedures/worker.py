"""The service's Celery app: `celery -A procedures.worker worker -Q procedures` (and `beat`)."""

from __future__ import annotations

from celery import Celery

from minhbach_shared.celery import make_celery, use_service_logging
from procedures.settings import Settings

QUEUE = "procedures"
APPLY_DUE_TASK = "procedures.apply_due_decisions"


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings()
    return make_celery(
        "procedures",
        settings,
        queues=[QUEUE],
        task_routes={APPLY_DUE_TASK: {"queue": QUEUE}},
        beat_schedule={
            "apply-due-decisions": {"task": APPLY_DUE_TASK, "schedule": settings.apply_due_every_s},
        },
        include=["procedures.tasks"],
    )


_settings = Settings()
app = create_celery(_settings)
use_service_logging("procedures", _settings)
