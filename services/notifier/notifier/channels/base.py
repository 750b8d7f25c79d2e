"""What a disclosure channel is: a name, the kinds it shows, `deliver` and `shown_versions`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


class Changes(Protocol):
    """Which subjects a read model's source re-read since an earlier generation of it."""

    @property
    def generation(self) -> int: ...

    @property
    def source(self) -> object: ...

    def since(self, generation: int) -> set[SubjectKey] | None:
        """The keys re-read after `generation` (None: unknown, treat all as changed)."""
        ...


class ReadModel:
    """A snapshot of every subject's current state, taken inside the channel's exclusive section.

    `changes`, when the snapshot comes from the process's SubjectCache, says which
    subjects changed since an earlier snapshot of the same cache: a channel that keeps
    what it rendered across runs renders only those (and the pages that list them).
    """

    def __init__(
        self,
        subjects: Iterable[SubjectState] | Mapping[SubjectKey, SubjectState],
        *,
        by_kind: Mapping[str, Mapping[SubjectKey, SubjectState]] | None = None,
        changes: Changes | None = None,
    ) -> None:
        self.by_key: dict[SubjectKey, SubjectState] = (
            dict(subjects) if isinstance(subjects, Mapping) else {s.key: s for s in subjects}
        )
        self._by_kind = by_kind
        self.changes = changes

    def get(self, key: SubjectKey) -> SubjectState | None:
        return self.by_key.get(key)

    def of_kind(self, kind: str) -> list[SubjectState]:
        if self._by_kind is None:
            grouped: dict[str, dict[SubjectKey, SubjectState]] = {}
            for key, s in self.by_key.items():
                grouped.setdefault(s.kind, {})[key] = s
            self._by_kind = grouped
        return list(self._by_kind.get(kind, {}).values())

    def changed_since(self, source: object, generation: int | None) -> set[SubjectKey] | None:
        """The keys changed since `generation` of `source` (None: everything may have)."""
        if self.changes is None or generation is None or source is not self.source:
            return None
        return self.changes.since(generation)

    @property
    def source(self) -> object:
        return getattr(self.changes, "source", None)

    @property
    def generation(self) -> int | None:
        return self.changes.generation if self.changes is not None else None


class Channel(Protocol):
    name: str
    # The subject kinds it discloses; it gets deliveries, ledger rows and audits for these only.
    kinds: frozenset[str]
    # Optional: `audited = False` for a channel that cannot be read back (an external
    # system); reconcile then neither audits it nor takes its lock. See audited().
    # Optional: `reads_catalogue = False` for a channel that shows each subject on its
    # own, from its state alone (a webhook): a run then reads only its batch's rows, not
    # the whole read model. See reads_catalogue().
    # One run at a time per channel, on any host: the channel's lock is in Redis
    # (broker.channel_lock), taken around claim, deliver and record by the run.

    def deliver(self, batch: Sequence[Delivery], model: ReadModel) -> dict[int, Outcome]:
        """Show each delivery's subject at its current state; one Outcome per delivery id."""
        ...

    def shown_versions(self, model: ReadModel) -> dict[SubjectKey, int | None]:
        """What the channel really shows for each subject of `model` (None: nothing)."""
        ...


def audited(channel: Channel) -> bool:
    """Whether reconcile can read the channel back with shown_versions (default: yes)."""
    return bool(getattr(channel, "audited", True))


def reads_catalogue(channel: Channel) -> bool:
    """Whether a run hands the channel the whole read model (default) or its batch's subjects alone."""
    return bool(getattr(channel, "reads_catalogue", True))
