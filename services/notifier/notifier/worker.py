"""The notifier's Celery app.

celery -A notifier.worker worker -Q events,channel.portal,notifier
celery -A notifier.worker beat
"""

from __future__ import annotations

from minhbach_shared.observability import configure_logging
from notifier.bootstrap import make_notifier_celery
from notifier.settings import Settings

settings = Settings()
configure_logging(service="notifier", level=settings.log_level, json_logs=settings.log_json)
app = make_notifier_celery(settings)
