"""Subscriptions to changes: a citizen follows one procedure or a whole field by e-mail.

Plain rules and entities, no framework: who matches a change, what a target is, the lifecycle.
A subscription is `pending` until its address confirms (double opt-in: nobody can sign
someone else up for mail), then `active`, until it is `unsubscribed` by the link that
every e-mail carries. The address is personal data: it lives in the notifier's database
and in the e-mails to that address, nowhere else.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from minhbach_shared.text import nfc, slugify
from notifier.disclosure.domain import Delivery

PROCEDURE = "procedure"
FIELD = "field"
TARGET_KINDS = (PROCEDURE, FIELD)
TOKEN_BYTES = 24


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class MailKind(StrEnum):
    CONFIRM = "confirm"
    CHANGES = "changes"


@dataclass(frozen=True)
class Target:
    """What is followed: a procedure by its code, or a field by its slug (label kept for mail)."""

    kind: str
    key: str
    label: str


@dataclass(frozen=True)
class Subscription:
    id: int
    email: str
    target_kind: str
    target_key: str
    target_label: str
    token: str
    status: str
    created_at: datetime
    confirm_sent_at: datetime | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None


@dataclass(frozen=True)
class SubscriberRow:
    """A subscriber e-mail row with its subscription."""

    delivery: Delivery
    kind: str
    subscription: Subscription


def new_token() -> str:
    """The secret in the confirm and unsubscribe links (unguessable, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def field_target(name: str) -> Target:
    label = nfc(name.strip())
    return Target(FIELD, slugify(label), label)


def procedure_target(code: str, name: str) -> Target:
    return Target(PROCEDURE, code.strip(), nfc(name.strip()))


def find_field(name: str, fields: Iterable[str]) -> str | None:
    """The known field `name` designates, by its slug (accents and case do not matter)."""
    wanted = slugify(name)
    return next((f for f in fields if slugify(f) == wanted), None)


def followers(state: Mapping[str, Any], code: str, active: Iterable[tuple[int, str, str]]) -> list[int]:
    """The ids of active subscriptions `(id, target_kind, target_key)` a change of this procedure concerns."""
    field = slugify(str(state.get("field") or ""))
    return [
        sid
        for sid, kind, key in active
        if (kind == PROCEDURE and key == code) or (kind == FIELD and field and key == field)
    ]


def describe(target_kind: str, key: str, label: str) -> str:
    """What is followed, in the words of the e-mails and pages."""
    if target_kind == PROCEDURE:
        return f"thủ tục “{label}” (mã {key})"
    return f"các thủ tục thuộc lĩnh vực “{label}”"


def can_confirm(status: str) -> bool:
    return status == SubscriptionStatus.PENDING


def resubscribe_needs_mail(status: str) -> bool:
    """Asking again: a pending or lapsed subscription gets a (new) confirmation; an active one nothing."""
    return status != SubscriptionStatus.ACTIVE
