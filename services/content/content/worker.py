"""The service's Celery app: `celery -A content.worker worker -Q content` (and `beat`)."""

from __future__ import annotations

from celery import Celery

from content.settings import Settings
from minhbach_shared.celery import make_celery, use_service_logging

QUEUE = "content"
APPLY_SCHEDULE_TASK = "content.apply_schedule"


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings()
    return make_celery(
        "content",
        settings,
        queues=[QUEUE],
        task_routes={APPLY_SCHEDULE_TASK: {"queue": QUEUE}},
        beat_schedule={
            "apply-schedule": {"task": APPLY_SCHEDULE_TASK, "schedule": settings.apply_schedule_every_s},
        },
        include=["content.tasks"],
    )


_settings = Settings()
app = create_celery(_settings)
use_service_logging("content", _settings)
