"""What a disclosure channel is: a name, an exclusive section, and `deliver`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from notifier.disclosure.domain import Delivery, SubjectKey, SubjectState


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery: the version the channel now shows, or why it failed."""

    version: int | None = None
    error: str | None = None
    # A failure the other side asked us to wait on (HTTP Retry-After), in seconds.
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def shown(cls, version: int) -> Outcome:
        return cls(version=version)

    @classmethod
    def failed(cls, error: str, *, retry_after_s: float | None = None) -> Outcome:
        return cls(error=error, retry_after_s=retry_after_s)


class ReadModel:
    """A snapshot of every subject's current state, taken inside the channel's exclusive section."""

    def __init__(self, subjects: Iterable[SubjectState]) -> None:
        self.by_key: dict[SubjectKey, SubjectState] = {s.key: s for s in subjects}

    def get(self, key: SubjectKey) -> SubjectState | None:
        return self.by_key.get(key)

    def of_kind(self, kind: str) -> list[SubjectState]:
        return [s for s in self.by_key.values() if s.kind == kind]


class Channel(Protocol):
    name: str
    # The subject kinds it discloses; it gets deliveries, ledger rows and audits for these only.
    kinds: frozenset[str]
    # Optional: `audited = False` for a channel that cannot be read back (an external
    # system); reconcile then neither audits it nor takes its lock. See audited().

    def exclusive(self) -> AbstractContextManager[object]:
        """Held around claim, deliver and record, so two workers never interleave."""
        ...

    def deliver(self, batch: Sequence[Delivery], model: ReadModel) -> dict[int, Outcome]:
        """Show each delivery's subject at its current state; one Outcome per delivery id."""
        ...

    def shown_versions(self, model: ReadModel) -> dict[SubjectKey, int | None]:
        """What the channel really shows for each subject of `model` (None: nothing)."""
        ...


def audited(channel: Channel) -> bool:
    """Whether reconcile can read the channel back with shown_versions (default: yes)."""
    return bool(getattr(channel, "audited", True))
