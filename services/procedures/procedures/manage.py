"""`python -m procedures.manage migrate | load-demo PATH`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis

from minhbach_shared.db import make_engine, migrate
from minhbach_shared.observability import configure_logging
from minhbach_shared.outbox import relay_waker
from procedures import services
from procedures.settings import Settings
from procedures.uow import UnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m procedures.manage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database to the newest revision")
    demo = commands.add_parser("load-demo", help="load sample procedures into an empty database")
    demo.add_argument("path", type=Path)
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(service="procedures", level=settings.log_level, json_logs=settings.log_json)
    if args.command == "migrate":
        migrate(settings.database_url, MIGRATIONS)
        print("procedures: database migrated")
        return 0
    payload = json.loads(args.path.read_text(encoding="utf-8"))
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        loaded = services.load_demo(
            UnitOfWork(engine, relay_waker(redis, "procedures")), payload, now=datetime.now(UTC)
        )
    finally:
        engine.dispose()
        redis.close()
    print(
        f"procedures: loaded {loaded} demo procedures"
        if loaded
        else "procedures: database not empty, demo skipped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
