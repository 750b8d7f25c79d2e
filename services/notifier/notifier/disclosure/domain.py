"""The disclosure ledger's rules and entities: pure functions and values, no framework, no I/O.

Per channel and subject the ledger holds the highest version disclosed. An event
is worth work only when it is new (id not seen) and newer than what the read
model holds; a delivery only when it is newer than what the channel shows.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

# An address as mail servers quote it in a refusal ("<an@example.vn>: User unknown").
_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
MAX_ERROR = 2000


def stored_error(error: str) -> str:
    """A failure as operators may read it: no one's address (a subscriber's, a citizen's),
    and not longer than a page."""
    return _ADDRESS.sub("<địa chỉ e-mail>", error)[:MAX_ERROR]


SubjectKey = tuple[str, str]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class SubjectState:
    """One subject of the read model: the owner's state at `version`."""

    kind: str
    id: str
    version: int
    state: dict[str, Any]
    updated_at: datetime
    occurred_at: datetime | None

    @property
    def key(self) -> SubjectKey:
        return (self.kind, self.id)


@dataclass(frozen=True)
class Delivery:
    """One row of work for one channel: show `version` of a subject (or send one e-mail)."""

    id: int
    channel: str
    subject_kind: str
    subject_id: str
    version: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    occurred_at: datetime | None

    @property
    def key(self) -> SubjectKey:
        return (self.subject_kind, self.subject_id)


@dataclass(frozen=True)
class EventRef:
    """What the rules need from an event."""

    event_id: str
    kind: str
    subject_id: str
    version: int
    occurred_at: datetime | None
    correlation_id: str | None = None

    @property
    def key(self) -> SubjectKey:
        return (self.kind, self.subject_id)


def fresh_events(events: Iterable[EventRef], seen: set[str]) -> list[EventRef]:
    """Events whose id was never seen, each id once (a batch may repeat one)."""
    out: list[EventRef] = []
    taken = set(seen)
    for event in events:
        if event.event_id in taken:
            continue
        taken.add(event.event_id)
        out.append(event)
    return out


def newest_per_subject(events: Iterable[EventRef]) -> dict[SubjectKey, EventRef]:
    """The winning event of each subject: the highest version (the later one on a tie)."""
    newest: dict[SubjectKey, EventRef] = {}
    for event in events:
        held = newest.get(event.key)
        if held is None or event.version >= held.version:
            newest[event.key] = event
    return newest


# Kinds whose pages list other subjects (a decision, the procedures it changed).
LISTING_KINDS = frozenset({"decision"})


def in_parts(keys: Iterable[SubjectKey], size: int) -> list[list[SubjectKey]]:
    """`keys` in parts of at most `size` (always one part at least, maybe empty), those that
    list other subjects last: a part is shown before the next is fetched, and a decision
    shown before its procedures would link pages not there yet."""
    ordered = sorted(keys, key=lambda key: key[0] in LISTING_KINDS)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)] or [[]]


def is_stale(version: int, held: int | None) -> bool:
    """True when `held` (read model or ledger) already has `version` or newer."""
    return held is not None and version <= held


def raised(current: int | None, new: int) -> int:
    """The ledger's next version: it never goes down."""
    return new if current is None else max(current, new)


@dataclass(frozen=True)
class PendingRef:
    delivery_id: int
    kind: str
    subject_id: str
    version: int

    @property
    def key(self) -> SubjectKey:
        return (self.kind, self.subject_id)


def split_batch(
    pending: Sequence[PendingRef], disclosed: dict[SubjectKey, int]
) -> tuple[list[PendingRef], list[PendingRef]]:
    """(work, superseded): per subject the newest pending row is work unless already disclosed."""
    best: dict[SubjectKey, PendingRef] = {}
    superseded: list[PendingRef] = []
    for row in pending:
        held = best.get(row.key)
        if held is None or row.version > held.version:
            if held is not None:
                superseded.append(held)
            best[row.key] = row
        else:
            superseded.append(row)
    work: list[PendingRef] = []
    for key, row in best.items():
        if is_stale(row.version, disclosed.get(key)):
            superseded.append(row)
        else:
            work.append(row)
    return work, superseded


def backoff_delay_s(attempts: int, *, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter after `attempts` failures: in [d/2, d], d = base*2^(n-1) <= cap."""
    exponent = max(attempts - 1, 0)
    # 2**exponent overflows float math long before it matters; the cap decides anyway.
    delay = cap_s if exponent > 60 else min(cap_s, base_s * 2**exponent)
    return (rng or random).uniform(delay / 2, delay)


def next_attempt_at(
    now: datetime, attempts: int, *, base_s: float, cap_s: float, rng: random.Random | None = None
) -> datetime:
    return now + timedelta(seconds=backoff_delay_s(attempts, base_s=base_s, cap_s=cap_s, rng=rng))


def is_dead(attempts: int, max_attempts: int) -> bool:
    """A delivery that has failed `max_attempts` times gets no more automatic attempts."""
    return attempts >= max_attempts


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(values: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
    }
