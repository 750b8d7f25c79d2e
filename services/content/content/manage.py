"""`python -m content.manage migrate | load-demo PATH | load-demo-articles`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis

from content import demo, services
from content.settings import Settings
from content.storage import AttachmentStore
from content.uow import UnitOfWork
from minhbach_shared.db import make_engine, migrate
from minhbach_shared.observability import configure_logging
from minhbach_shared.outbox import relay_waker
from minhbach_shared.procedures_api import ProceduresApi

MIGRATIONS = Path(__file__).parent / "migrations"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m content.manage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database to the newest revision")
    documents = commands.add_parser("load-demo", help="load the demo legal documents into an empty database")
    documents.add_argument("path", type=Path, help="legal-documents.json")
    commands.add_parser(
        "load-demo-articles", help="publish the demo articles (with pictures) into an empty database"
    )
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(service="content", level=settings.log_level, json_logs=settings.log_json)
    if args.command == "migrate":
        migrate(settings.database_url, MIGRATIONS)
        print("content: database migrated")
        return 0
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    procedures = ProceduresApi(settings.procedures_url, timeout_s=settings.procedures_timeout_s)
    wake = relay_waker(redis, "content")
    try:
        if args.command == "load-demo-articles":
            store = AttachmentStore(settings.attachments_dir, max_bytes=settings.max_attachment_bytes)
            count = demo.load_demo_articles(
                lambda: UnitOfWork(engine, wake), store, now=datetime.now(UTC), procedures=procedures
            )
            print(
                f"content: published {count} demo articles"
                if count
                else "content: articles exist, demo skipped"
            )
            return 0
        payload = json.loads(args.path.read_text(encoding="utf-8"))
        loaded = services.load_demo_documents(UnitOfWork(engine, wake), payload, procedures=procedures)
    finally:
        procedures.close()
        engine.dispose()
        redis.close()
    print(
        f"content: loaded {loaded} demo documents" if loaded else "content: database not empty, demo skipped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
