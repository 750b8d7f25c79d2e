"""The notifier's Celery app; the Procfile runs one worker per queue group:

celery -A notifier.worker worker -Q events --concurrency 2 -n events@%h
nice -n 10 celery -A notifier.worker worker -Q notifier --concurrency 1 -n maintenance@%h
celery -A notifier.worker worker -Q channel.portal --concurrency 1 -n portal@%h
(and channel.center, channel.dvc, channel.email alike)
celery -A notifier.worker beat
"""

from __future__ import annotations

from minhbach_shared.celery import use_service_logging
from notifier.bootstrap import make_notifier_celery
from notifier.settings import Settings

settings = Settings()
app = make_notifier_celery(settings)
use_service_logging("notifier", settings)
