"""`python -m content.relay`: sends outbox rows to the notifier's queue."""

from __future__ import annotations

from redis import Redis

from content.bootstrap import create_celery
from content.db import outbox
from content.settings import Settings
from minhbach_shared.db import make_engine
from minhbach_shared.observability import configure_logging
from minhbach_shared.outbox import OutboxRelay, celery_sender


def main() -> None:
    settings = Settings()
    configure_logging(service="content", level=settings.log_level, json_logs=settings.log_json)
    relay = OutboxRelay(
        engine=make_engine(settings.database_url),
        table=outbox,
        send=celery_sender(create_celery(settings)),
    )
    relay.run_forever(redis=Redis.from_url(settings.redis_url), service="content")


if __name__ == "__main__":
    main()
