"""`python -m procedures.relay`: sends outbox rows to the notifier's queue."""

from __future__ import annotations

from redis import Redis

from minhbach_shared.db import make_engine
from minhbach_shared.observability import configure_logging
from minhbach_shared.outbox import OutboxRelay, celery_sender, pause_after_send_for_tests
from procedures.bootstrap import create_celery
from procedures.db import outbox
from procedures.settings import Settings


def main() -> None:
    settings = Settings()
    pause_after_send_s = pause_after_send_for_tests(settings.environment)  # test-only; 0 normally
    configure_logging(service="procedures", level=settings.log_level, json_logs=settings.log_json)
    relay = OutboxRelay(
        engine=make_engine(settings.database_url),
        table=outbox,
        send=celery_sender(create_celery(settings)),
        pause_after_send_s=pause_after_send_s,
    )
    relay.run_forever(redis=Redis.from_url(settings.redis_url), service="procedures")


if __name__ == "__main__":
    main()
