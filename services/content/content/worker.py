"""The celery CLI's entry point: `celery -A content.worker worker -Q content` (and `beat`).

The CLI loads a module and takes its `app`, so this one builds it at import; nothing
else imports this module (the API and the relay call bootstrap.create_celery).
"""

from __future__ import annotations

from content.bootstrap import create_celery
from content.settings import Settings
from minhbach_shared.celery import use_service_logging

settings = Settings()
app = create_celery(settings)
use_service_logging("content", settings)
