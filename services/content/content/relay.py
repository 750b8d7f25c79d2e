"""`python -m content.relay`: sends outbox rows to the notifier's queue."""

from __future__ import annotations

from content.bootstrap import create_celery
from content.db import outbox
from content.settings import Settings
from minhbach_shared.outbox import run_relay


def main() -> None:
    settings = Settings()
    run_relay(
        "content", settings, database_url=settings.database_url, table=outbox, celery=create_celery(settings)
    )


if __name__ == "__main__":
    main()
