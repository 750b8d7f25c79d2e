"""Accounts, sessions and sign-in throttling: the console's own rules, no framework."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from minhbach_shared.auth import Role

# What each role is called on the pages (the people who hold them read Vietnamese).
ROLE_LABELS: dict[Role, str] = {
    Role.EDITOR: "Biên tập viên",
    Role.APPROVER: "Lãnh đạo phê duyệt",
    Role.HOTLINE: "Cán bộ đường dây nóng",
    Role.OPERATOR: "Vận hành hệ thống",
    Role.ADMIN: "Quản trị",
}
# Roles a person's account may hold (`service` is for machines, not for the console).
ACCOUNT_ROLES = tuple(ROLE_LABELS)

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
MIN_PASSWORD = 12

# The demo accounts `make up` creates, one per role, all with DEMO_PASSWORD; the banner
# prints them and production refuses to start while any of them exists.
DEMO_PASSWORD = "minhbach-demo"  # noqa: S105 (published on purpose: local demo only)
DEMO_ACCOUNTS: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("bientap", "Nguyễn Thị Biên (biên tập)", (Role.EDITOR,)),
    ("bientap2", "Trần Văn Tập (biên tập)", (Role.EDITOR,)),
    ("pheduyet", "Lê Văn Duyệt (phê duyệt)", (Role.APPROVER,)),
    ("duongday", "Phạm Thị Nóng (đường dây nóng)", (Role.HOTLINE,)),
    ("vanhanh", "Hoàng Văn Hành (vận hành)", (Role.OPERATOR,)),
    ("quantri", "Đỗ Thị Trị (quản trị)", (Role.ADMIN,)),
)


class AccountProblem(ValueError):
    """An account's fields break a rule; `field` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalize_username(raw: str) -> str:
    return raw.strip().lower()[:64]


def check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise AccountProblem(
            "username",
            "Tên đăng nhập gồm 3–64 chữ thường không dấu, số, dấu chấm, gạch ngang hoặc gạch dưới.",
        )


def check_password(password: str, *, username: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountProblem("password", f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")
    if username and username in password.lower():
        raise AccountProblem("password", "Mật khẩu không được chứa tên đăng nhập.")


def check_roles(roles: list[str]) -> frozenset[Role]:
    known = {r.value for r in ACCOUNT_ROLES}
    unknown = [r for r in roles if r not in known]
    if unknown or not roles:
        raise AccountProblem("roles", f"Vai trò phải là một hoặc nhiều trong: {', '.join(sorted(known))}.")
    return frozenset(Role(r) for r in roles)


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    disabled: bool
    demo: bool

    def has(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    @property
    def role_labels(self) -> list[str]:
        return [ROLE_LABELS[r] for r in ACCOUNT_ROLES if r in self.roles]


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    max_age: timedelta

    def expired(self, *, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at > self.idle or now - created_at > self.max_age


@dataclass(frozen=True)
class ThrottlePolicy:
    """Wrong passwords cost time, then lock: per account (someone guessing one person's
    password) and per client (someone trying many names from one place)."""

    delay_step_s: float
    delay_max_s: float
    account_limit: int
    client_limit: int
    window: timedelta

    def delay_after(self, failures: int) -> float:
        """How long the answer to the `failures`-th wrong password waits."""
        return min(self.delay_step_s * failures, self.delay_max_s)

    def locked(self, *, account_failures: int, client_failures: int) -> bool:
        return account_failures >= self.account_limit or client_failures >= self.client_limit
