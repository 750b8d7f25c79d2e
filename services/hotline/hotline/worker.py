"""The service's Celery app: `celery -A hotline.worker worker -Q hotline` (and `beat`)."""

from __future__ import annotations

from celery import Celery

from hotline.settings import Settings
from minhbach_shared.celery import make_celery, use_service_logging

QUEUE = "hotline"
CHECK_OVERDUE_TASK = "hotline.check_overdue"


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings()
    return make_celery(
        "hotline",
        settings,
        queues=[QUEUE],
        task_routes={CHECK_OVERDUE_TASK: {"queue": QUEUE}},
        beat_schedule={
            "check-overdue": {"task": CHECK_OVERDUE_TASK, "schedule": settings.check_overdue_every_s},
        },
        include=["hotline.tasks"],
    )


_settings = Settings()
app = create_celery(_settings)
use_service_logging("hotline", _settings)
