"""`python -m hotline.manage migrate | check-overdue [--as-of ISO] | load-demo PROCEDURES_JSON`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from redis import Redis

from hotline import demo, services
from hotline.settings import Settings
from hotline.uow import UnitOfWork
from minhbach_shared import times
from minhbach_shared.db import make_engine, migrate
from minhbach_shared.observability import configure_logging
from minhbach_shared.outbox import relay_waker

MIGRATIONS = Path(__file__).parent / "migrations"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotline.manage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database to the newest revision")
    overdue = commands.add_parser("check-overdue", help="emit today's ticket.overdue events now")
    overdue.add_argument("--as-of", type=times.as_of, default=None, help="ISO moment (UTC without an offset)")
    load = commands.add_parser(
        "load-demo", help="publish the demo's answered questions into an empty database"
    )
    load.add_argument("procedures", type=Path, help="procedures-sample.json: the procedures the demo loaded")
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(service="hotline", level=settings.log_level, json_logs=settings.log_json)
    if args.command == "migrate":
        migrate(settings.database_url, MIGRATIONS)
        print("hotline: database migrated")
        return 0
    now = times.as_of(getattr(args, "as_of", None))  # load-demo: now
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    wake = relay_waker(redis, "hotline")
    try:
        policy = services.Policy.from_settings(settings)
        if args.command == "load-demo":
            loaded = demo.load_demo_answers(
                lambda: UnitOfWork(engine, wake),
                procedures=demo.SampleProcedures.from_file(args.procedures),
                now=now,
                policy=policy,
            )
            print(
                f"hotline: published {loaded} demo answers"
                if loaded
                else "hotline: database not empty, demo skipped"
            )
            return 0
        sent = services.check_overdue(lambda: UnitOfWork(engine, wake), now=now, calendar=policy.calendar)
    finally:
        engine.dispose()
        redis.close()
    print(f"hotline: {sent} overdue notices written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
