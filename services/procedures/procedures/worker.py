"""The celery CLI's entry point: `celery -A procedures.worker worker -Q procedures` (and `beat`).

The CLI loads a module and takes its `app`, so this one builds it at import; nothing
else imports this module (the API and the relay call bootstrap.create_celery).
"""

from __future__ import annotations

from minhbach_shared.celery import use_service_logging
from procedures.bootstrap import create_celery
from procedures.settings import Settings

settings = Settings()
app = create_celery(settings)
use_service_logging("procedures", settings)
