"""Use cases on accounts and sessions: add a user, sign in, find the session a cookie
names, sign out, change a password. Plain functions over an engine."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, Row, func, insert, select, update
from sqlalchemy.orm import Session

from console import db
from console.domain import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    Account,
    AccountProblem,
    SessionPolicy,
    ThrottlePolicy,
    check_password,
    check_roles,
    check_username,
    normalize_username,
)
from minhbach_shared.auth import Role
from minhbach_shared.db import WRITE

# Argon2id with pwdlib's defaults (OWASP's: 19 MiB, 2 passes); verify_and_update
# re-hashes a stored password when those parameters change.
passwords = PasswordHash((Argon2Hasher(),))


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the name is unknown, so a wrong name costs as long as a wrong
    password. Made on first use, not at import (a hash costs ~50 ms every process would pay)."""
    return passwords.hash("not a password anyone has")


def _account(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        roles=frozenset(Role(r) for r in row.roles),
        disabled=row.disabled,
        demo=row.demo,
    )


@contextmanager
def _writing(engine: Engine) -> Iterator[Session]:
    """One write transaction (SQLite: BEGIN IMMEDIATE, so writers queue)."""
    with Session(engine) as session, session.begin():
        session.connection(execution_options=WRITE)
        yield session


def add_user(
    engine: Engine,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: list[str],
    now: datetime,
    demo: bool = False,
) -> Account:
    username = normalize_username(username)
    check_username(username)
    check_password(password, username=username)
    role_set = check_roles(roles)
    if not display_name.strip():
        raise AccountProblem("display_name", "Cần họ tên hiển thị.")
    with _writing(engine) as session:
        if session.execute(select(db.accounts.c.id).where(db.accounts.c.username == username)).first():
            raise AccountProblem("username", f"Tên đăng nhập {username} đã có.")
        session.execute(
            insert(db.accounts).values(
                username=username,
                display_name=display_name.strip(),
                password_hash=passwords.hash(password),
                roles=sorted(r.value for r in role_set),
                disabled=False,
                demo=demo,
                created_at=now,
                updated_at=now,
            )
        )
        row = session.execute(select(db.accounts).where(db.accounts.c.username == username)).one()
    return _account(row)


def ensure_demo_accounts(engine: Engine, *, now: datetime) -> list[str]:
    """One demo account per role (domain.DEMO_ACCOUNTS), made once; returns those made."""
    made = []
    with Session(engine) as session:
        existing = set(session.execute(select(db.accounts.c.username)).scalars())
    for username, name, roles in DEMO_ACCOUNTS:
        if username not in existing:
            add_user(
                engine,
                username=username,
                display_name=name,
                password=DEMO_PASSWORD,
                roles=[r.value for r in roles],
                now=now,
                demo=True,
            )
            made.append(username)
    return made


def demo_accounts(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(
            session.execute(select(db.accounts.c.username).where(db.accounts.c.demo.is_(True))).scalars()
        )


def display_names(engine: Engine, usernames: Iterable[str]) -> dict[str, str]:
    """The full names of the accounts named (the subjects the owners record as who did what);
    a username with no account is left out."""
    wanted = sorted(set(usernames))
    if not wanted:
        return {}
    with Session(engine) as session:
        rows = session.execute(
            select(db.accounts.c.username, db.accounts.c.display_name).where(
                db.accounts.c.username.in_(wanted)
            )
        )
        return {username: name for username, name in rows}


def set_disabled(engine: Engine, username: str, disabled: bool, *, now: datetime) -> None:
    """Disable (or enable) an account; disabling ends its sessions at once."""
    with _writing(engine) as session:
        row = session.execute(select(db.accounts).where(db.accounts.c.username == username)).first()
        if row is None:
            raise AccountProblem("username", f"Không có tài khoản {username}.")
        session.execute(
            update(db.accounts).where(db.accounts.c.id == row.id).values(disabled=disabled, updated_at=now)
        )
        if disabled:
            _end_sessions(session, row.id, now=now, reason="disabled")


def _end_sessions(
    session: Session, account_id: int, *, now: datetime, reason: str, keep: int | None = None
) -> None:
    query = update(db.sessions).where(
        db.sessions.c.account_id == account_id, db.sessions.c.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(db.sessions.c.id != keep)
    session.execute(query.values(ended_at=now, end_reason=reason))


@dataclass(frozen=True)
class SignedIn:
    account: Account
    cookie: str  # the session cookie's value; only its hash is stored


@dataclass(frozen=True)
class Refused:
    locked: bool
    delay_s: float  # how long the answer should wait (wrong passwords cost time)


def _failures(
    session: Session, *, since: datetime, username: str | None = None, client: str | None = None
) -> int:
    query = (
        select(func.count())
        .select_from(db.sign_ins)
        .where(db.sign_ins.c.at >= since, db.sign_ins.c.outcome == "wrong")
    )
    if username is not None:
        # Failures since the account's last good sign-in only.
        last_ok = (
            select(func.max(db.sign_ins.c.at))
            .where(db.sign_ins.c.username == username, db.sign_ins.c.outcome == "ok")
            .scalar_subquery()
        )
        query = query.where(
            db.sign_ins.c.username == username, db.sign_ins.c.at > func.coalesce(last_ok, since)
        )
    if client is not None:
        query = query.where(db.sign_ins.c.client == client)
    return int(session.execute(query).scalar_one())


def sign_in(
    engine: Engine,
    *,
    username: str,
    password: str,
    client: str,
    now: datetime,
    throttle: ThrottlePolicy,
) -> SignedIn | Refused:
    """Check a name and password; every attempt is recorded (never the password)."""
    username = normalize_username(username)
    client = client[:64]
    since = now - throttle.window
    with _writing(engine) as session:
        account_failures = _failures(session, since=since, username=username)
        client_failures = _failures(session, since=since, client=client)
        row = session.execute(select(db.accounts).where(db.accounts.c.username == username)).first()

        def record(outcome: str) -> None:
            session.execute(
                insert(db.sign_ins).values(
                    at=now,
                    username=username,
                    account_id=row.id if row else None,
                    client=client,
                    outcome=outcome,
                )
            )

        if throttle.locked(account_failures=account_failures, client_failures=client_failures):
            record("locked")
            return Refused(locked=True, delay_s=0)
        valid, new_hash = passwords.verify_and_update(password, row.password_hash if row else _dummy_hash())
        if row is None or not valid:
            record("wrong")
            failures = max(account_failures, client_failures) + 1
            locked_now = throttle.locked(
                account_failures=account_failures + 1, client_failures=client_failures + 1
            )
            return Refused(locked=locked_now, delay_s=throttle.delay_after(failures))
        if row.disabled:
            record("disabled")
            return Refused(locked=False, delay_s=throttle.delay_after(1))
        if new_hash:
            session.execute(
                update(db.accounts).where(db.accounts.c.id == row.id).values(password_hash=new_hash)
            )
        record("ok")
        cookie = secrets.token_urlsafe(32)
        session.execute(
            insert(db.sessions).values(
                token_hash=_hash(cookie),
                account_id=row.id,
                csrf_token=secrets.token_urlsafe(32),
                client=client,
                created_at=now,
                last_seen_at=now,
            )
        )
        return SignedIn(account=_account(row), cookie=cookie)


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CurrentSession:
    id: int
    account: Account
    csrf_token: str


# last_seen_at is written at most this often: not one write per page view.
_TOUCH_EVERY = timedelta(seconds=30)


def session_for(
    engine: Engine, cookie: str, *, now: datetime, policy: SessionPolicy
) -> CurrentSession | None:
    """The live session `cookie` names, or None (unknown, ended, idle too long, too old,
    or its account disabled: then it is ended here, server-side)."""
    if not cookie:
        return None
    with Session(engine) as session:
        row = session.execute(
            select(db.sessions, db.accounts)
            .join(db.accounts, db.accounts.c.id == db.sessions.c.account_id)
            .where(db.sessions.c.token_hash == _hash(cookie), db.sessions.c.ended_at.is_(None))
        ).first()
    if row is None:
        return None
    m = row._mapping
    expired = policy.expired(
        created_at=m[db.sessions.c.created_at], last_seen_at=m[db.sessions.c.last_seen_at], now=now
    )
    if expired or m[db.accounts.c.disabled]:
        with _writing(engine) as session:
            session.execute(
                update(db.sessions)
                .where(db.sessions.c.id == m[db.sessions.c.id])
                .values(ended_at=now, end_reason="disabled" if m[db.accounts.c.disabled] else "expired")
            )
        return None
    if now - m[db.sessions.c.last_seen_at] > _TOUCH_EVERY:
        with _writing(engine) as session:
            session.execute(
                update(db.sessions).where(db.sessions.c.id == m[db.sessions.c.id]).values(last_seen_at=now)
            )
    account = Account(
        id=m[db.accounts.c.id],
        username=m[db.accounts.c.username],
        display_name=m[db.accounts.c.display_name],
        roles=frozenset(Role(r) for r in m[db.accounts.c.roles]),
        disabled=False,
        demo=m[db.accounts.c.demo],
    )
    return CurrentSession(id=m[db.sessions.c.id], account=account, csrf_token=m[db.sessions.c.csrf_token])


def sign_out(engine: Engine, session_id: int, *, now: datetime) -> None:
    with _writing(engine) as session:
        session.execute(
            update(db.sessions)
            .where(db.sessions.c.id == session_id, db.sessions.c.ended_at.is_(None))
            .values(ended_at=now, end_reason="signed_out")
        )


def change_password(
    engine: Engine, account: Account, *, current: str, new: str, now: datetime, keep_session: int
) -> None:
    """Change one's own password; every other session of the account ends."""
    check_password(new, username=account.username)
    with _writing(engine) as session:
        row = session.execute(select(db.accounts).where(db.accounts.c.id == account.id)).one()
        if not passwords.verify(current, row.password_hash):
            raise AccountProblem("current", "Mật khẩu hiện tại không đúng.")
        if current == new:
            raise AccountProblem("password", "Mật khẩu mới phải khác mật khẩu hiện tại.")
        session.execute(
            update(db.accounts)
            .where(db.accounts.c.id == account.id)
            .values(password_hash=passwords.hash(new), demo=False, updated_at=now)
        )
        _end_sessions(session, account.id, now=now, reason="password", keep=keep_session)


def recent_sign_ins(engine: Engine, *, limit: int = 50) -> list[Row[Any]]:
    with Session(engine) as session:
        return list(session.execute(select(db.sign_ins).order_by(db.sign_ins.c.id.desc()).limit(limit)).all())
