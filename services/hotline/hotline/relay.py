"""`python -m hotline.relay`: sends outbox rows to the notifier's queue."""

from __future__ import annotations

from hotline.bootstrap import create_celery
from hotline.db import outbox
from hotline.settings import Settings
from minhbach_shared.outbox import run_relay


def main() -> None:
    settings = Settings()
    run_relay(
        "hotline", settings, database_url=settings.database_url, table=outbox, celery=create_celery(settings)
    )


if __name__ == "__main__":
    main()
