"""The celery CLI's entry point: `celery -A hotline.worker worker -Q hotline` (and `beat`).

The CLI loads a module and takes its `app`, so this one builds it at import; nothing
else imports this module (the API and the relay call bootstrap.create_celery).
"""

from __future__ import annotations

from hotline.bootstrap import create_celery
from hotline.settings import Settings
from minhbach_shared.celery import use_service_logging

settings = Settings()
app = create_celery(settings)
use_service_logging("hotline", settings)
