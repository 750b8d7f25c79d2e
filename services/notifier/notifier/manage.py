"""`python -m notifier.manage migrate`: upgrade the notifier's database."""

from __future__ import annotations

import argparse
from pathlib import Path

from minhbach_shared import db
from notifier.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(settings: Settings) -> None:
    db.migrate(settings.database_url, MIGRATIONS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["migrate"])
    args = parser.parse_args()
    if args.command == "migrate":
        migrate(Settings())


if __name__ == "__main__":
    main()
