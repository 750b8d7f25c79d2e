"""The notifier's Celery app.

celery -A notifier.worker worker -Q events,channel.portal,notifier
celery -A notifier.worker worker -Q channel.email --concurrency 1 -n email@%h
celery -A notifier.worker beat
"""

from __future__ import annotations

from minhbach_shared.celery import use_service_logging
from notifier.bootstrap import make_notifier_celery
from notifier.settings import Settings

settings = Settings()
app = make_notifier_celery(settings)
use_service_logging("notifier", settings)
