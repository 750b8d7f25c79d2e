"""`python -m procedures.relay`: sends outbox rows to the notifier's queue."""

from __future__ import annotations

from minhbach_shared.outbox import run_relay
from procedures.bootstrap import create_celery
from procedures.db import outbox
from procedures.settings import Settings


def main() -> None:
    settings = Settings()
    run_relay(
        "procedures",
        settings,
        database_url=settings.database_url,
        table=outbox,
        celery=create_celery(settings),
    )


if __name__ == "__main__":
    main()
