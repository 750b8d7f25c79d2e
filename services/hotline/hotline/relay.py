"""`python -m hotline.relay`: sends outbox rows to the notifier's queue."""

from __future__ import annotations

from redis import Redis

from hotline.bootstrap import create_celery
from hotline.db import outbox
from hotline.settings import Settings
from minhbach_shared.db import make_engine
from minhbach_shared.observability import configure_logging
from minhbach_shared.outbox import OutboxRelay, celery_sender


def main() -> None:
    settings = Settings()
    configure_logging(service="hotline", level=settings.log_level, json_logs=settings.log_json)
    relay = OutboxRelay(
        engine=make_engine(settings.database_url),
        table=outbox,
        send=celery_sender(create_celery(settings)),
    )
    relay.run_forever(redis=Redis.from_url(settings.redis_url), service="hotline")


if __name__ == "__main__":
    main()
