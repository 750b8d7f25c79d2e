"""What the notifier keeps of the hotline: its answers' public fields, its statistics, its overdue reminders.

The hotline redacts; the notifier does not try to. What it does is keep and render only
an explicit allow-list of fields, so a field the hotline should never have sent (a
submitter's name, a phone number, internal notes) is dropped at the door and could not
reach a page even if it had been stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifier.disclosure.domain import Delivery

TICKET = "ticket"
# The hotline's public statistics (and its phones and office hours), kept in the read
# model as one subject so a change is delivered, audited and repaired like any other.
# The hotline gives it no version: the notifier counts one up each time it changes.
STATISTICS_KEY = ("statistics", "hotline")
STATISTICS_DOCUMENT = "statistics"
PUBLISHED = "published"
WITHDRAWN = "withdrawn"

PUBLIC_ANSWER_FIELDS = (
    "id",
    "version",
    "status",
    "kind",
    "subject",
    "question",
    "answer",
    "procedure_code",
    "unit",
    "received_on",
    "answered_on",
    "published_at",
)
OVERDUE_FIELDS = ("unit", "due_on", "days_overdue", "stage", "status")
# What the reply e-mail tells the citizen: the answer as approved for publication
# (redacted), its day, and whether it is on the portal. The address travels apart.
REPLY_FIELDS = ("subject", "answer", "answered_on", "public")
STAT_COUNTS = ("received", "answered_on_time", "answered_late", "open_overdue")


@dataclass(frozen=True)
class OverdueNotice:
    """One ticket.overdue event, its data allow-listed (overdue_data)."""

    event_id: str
    ticket_id: str
    version: int
    data: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class EmailJob:
    """One pending e-mail: its delivery row, its recipient, and the overdue event it tells of."""

    delivery: Delivery
    recipient: str
    notice: OverdueNotice


@dataclass(frozen=True)
class ReplyNotice:
    """One ticket.answered event: the citizen's address, and the answer (reply_data)."""

    event_id: str
    ticket_id: str
    version: int
    reply_to: str
    data: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class ReplyJob:
    """One pending reply e-mail: its delivery row, the citizen's address, and the answer."""

    delivery: Delivery
    recipient: str
    notice: ReplyNotice


def reply_data(data: dict[str, Any]) -> dict[str, Any]:
    """The answered event's summary without the address, allow-listed."""
    return {name: data[name] for name in REPLY_FIELDS if isinstance(data.get(name), str | bool)}


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def public_answer(state: dict[str, Any]) -> dict[str, Any]:
    """A PublicAnswer reduced to the contract's fields, each a plain string or number."""
    out: dict[str, Any] = {name: _str(state.get(name)) for name in PUBLIC_ANSWER_FIELDS}
    out["version"] = int(state.get("version") or 0)
    return out


def withdrawn(ticket_id: str, version: int) -> dict[str, Any]:
    """The read model's state of a ticket whose answer is no longer public (the owner says 404)."""
    return {"id": ticket_id, "version": version, "status": WITHDRAWN}


def is_public(state: dict[str, Any]) -> bool:
    return state.get("status") == PUBLISHED


def overdue_data(data: dict[str, Any]) -> dict[str, Any]:
    """The overdue event's summary, allow-listed too (the contract says it has no personal data)."""
    return {name: data[name] for name in OVERDUE_FIELDS if isinstance(data.get(name), str | int)}


def _count(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def public_statistics(body: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/public/statistics reduced to months x units of counts and the hotline's contacts."""
    months = []
    for row in body.get("months") or []:
        if not isinstance(row, dict) or not isinstance(row.get("month"), str):
            continue
        months.append(
            {"month": row["month"], "unit": _str(row.get("unit"))}
            | {name: _count(row.get(name)) for name in STAT_COUNTS}
        )
    raw = body.get("hotline")
    hotline: dict[str, Any] = raw if isinstance(raw, dict) else {}
    phones = [p for p in hotline.get("phones") or [] if isinstance(p, str) and p.strip()]
    hours = hotline.get("office_hours")
    return {
        "months": months,
        "hotline": {"phones": phones, "office_hours": hours if isinstance(hours, str) else ""},
    }
