"""`python -m console.manage migrate | demo-accounts | add-user | disable-user | token`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console import accounts
from console.domain import ACCOUNT_ROLES, AccountProblem
from console.identity import MAX_TOKEN_TTL, SigningKey, all_api_audiences, issue_token
from console.settings import Settings
from minhbach_shared.auth import Role, audience
from minhbach_shared.db import make_engine, migrate
from minhbach_shared.observability import configure_logging

MIGRATIONS = Path(__file__).parent / "migrations"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.manage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database and make the signing key if there is none")
    commands.add_parser("demo-accounts", help="one demo account per role (local only)")
    add = commands.add_parser("add-user", help="add an account (the password is asked, or MB_NEW_PASSWORD)")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="the name shown on the pages")
    add.add_argument("--role", action="append", required=True, choices=[r.value for r in ACCOUNT_ROLES])
    for name in ("disable-user", "enable-user"):
        commands.add_parser(
            name, help=f"{name.split('-')[0]} an account (disabling ends its sessions)"
        ).add_argument("username")
    token = commands.add_parser(
        "token", help="print an access token signed with the console's key (scripts, tests)"
    )
    token.add_argument("--role", action="append", required=True, choices=[r.value for r in Role])
    token.add_argument("--subject", default=None)
    token.add_argument("--service", action="append", help="the API it is for (default: all four)")
    token.add_argument(
        "--ttl", type=int, default=int(MAX_TOKEN_TTL.total_seconds()), help="seconds, 900 at most"
    )
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(service="console", level=settings.log_level, json_logs=settings.log_json)
    now = datetime.now(UTC)
    if args.command == "token":
        roles = [Role(r) for r in args.role]
        print(
            issue_token(
                SigningKey.load_or_create(settings.signing_key_file),
                issuer=settings.auth_issuer,
                subject=args.subject or f"demo-{roles[0].value}",
                roles=roles,
                audiences=[audience(s) for s in args.service] if args.service else all_api_audiences(),
                ttl=timedelta(seconds=args.ttl),
            )
        )
        return 0
    if args.command == "migrate":
        migrate(settings.database_url, MIGRATIONS)
        SigningKey.load_or_create(settings.signing_key_file)
        print("console: database migrated, signing key ready")
        return 0
    engine = make_engine(settings.database_url)
    try:
        if args.command == "demo-accounts":
            if settings.environment == "production":
                print("console: no demo accounts in production", file=sys.stderr)
                return 2
            made = accounts.ensure_demo_accounts(engine, now=now)
            print(
                f"console: demo accounts made: {', '.join(made)}"
                if made
                else "console: demo accounts present"
            )
            return 0
        if args.command in ("disable-user", "enable-user"):
            accounts.set_disabled(engine, args.username, args.command == "disable-user", now=now)
            print(f"console: {args.username} {args.command.split('-')[0]}d")
            return 0
        password = os.environ.get("MB_NEW_PASSWORD") or getpass.getpass(f"Mật khẩu cho {args.username}: ")
        account = accounts.add_user(
            engine,
            username=args.username,
            display_name=args.name,
            password=password,
            roles=args.role,
            now=now,
        )
        print(f"console: account {account.username} added ({', '.join(account.role_labels)})")
        return 0
    except AccountProblem as problem:
        print(f"console: {problem.field}: {problem.message}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
