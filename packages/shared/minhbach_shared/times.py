"""Time in the contract: stored and carried in events as UTC, shown in Vietnam time.

Every API shows a moment with Vietnam's offset (`2026-12-01T00:00:00+07:00`, the same
instant as `2026-11-30T17:00:00Z`), so an editor reads the time they entered. Times
entered without an offset are Vietnam time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, PlainSerializer

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def in_vietnam(value: datetime) -> datetime:
    """The same instant on Vietnam's clock (naive values are taken as UTC, as stored)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VIETNAM)


def parse_moment(value: object) -> datetime | None:
    """An ISO moment from another service's JSON (naive taken as UTC); None if unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_of(value: str | datetime | None) -> datetime:
    """The moment a scheduled task or command runs for, in UTC: `value` (ISO 8601, or a
    datetime; without an offset it is UTC, as tests and operators move time), else now."""
    if value is None or value == "":
        return datetime.now(UTC)
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def entered_in_vietnam(value: datetime) -> datetime:
    """A time a person entered: naive means Vietnam time; returned as UTC for storage."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=VIETNAM)
    return value.astimezone(UTC)


# For response models: a moment shown with Vietnam's offset in JSON.
VietnamTime = Annotated[
    datetime, PlainSerializer(lambda v: in_vietnam(v).isoformat(), return_type=str, when_used="json")
]
# For request models: a moment entered in Vietnam time (an explicit offset is honoured).
EnteredTime = Annotated[datetime, AfterValidator(entered_in_vietnam)]
