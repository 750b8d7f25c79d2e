"""What every use case of the notifier works with: database, owners, channels, queues, settings, clock."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from minhbach_shared.db import WRITE
from minhbach_shared.http import NotFound
from notifier.broker import Dispatcher
from notifier.channels.base import Channel
from notifier.channels.email import EMAIL, EmailChannel
from notifier.disclosure.domain import SubjectKey
from notifier.disclosure.repository import SubjectCache
from notifier.owners import OwnerRegistry
from notifier.settings import Settings


def utcnow() -> datetime:
    return datetime.now(UTC)


class Parts:
    """The notifier's collaborators. Every use case is a function that takes one and reads it
    at call time (tests swap the clock or the owners on built Parts)."""

    def __init__(
        self,
        *,
        engine: Engine,
        owners: OwnerRegistry,
        channels: Mapping[str, Channel],
        dispatcher: Dispatcher,
        settings: Settings,
        mailer: EmailChannel | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.owners = owners
        # Disclosure channels; the mailer is the e-mail channel (no ledger, no fan-out).
        self.channels = dict(channels)
        self.mailer = mailer
        self.dispatcher = dispatcher
        self.settings = settings
        self.clock = clock
        self.rng = rng
        # The read model as this process last read it (channel runs read only what changed).
        self.subjects = SubjectCache()

    @contextmanager
    def write(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            session.connection(execution_options=WRITE)
            yield session

    def queued(self) -> list[str]:
        """Every channel with a queue: the disclosure channels and e-mail."""
        return [*self.channels, *([EMAIL] if self.mailer is not None and EMAIL not in self.channels else [])]

    def showing(self, key: SubjectKey) -> list[str]:
        """The disclosure channels that show subjects of this kind."""
        return [name for name, channel in self.channels.items() if key[0] in channel.kinds]

    def following(self, key: SubjectKey) -> list[str]:
        """Where a change of this subject goes: the channels that show it, and e-mail for
        a procedure (its followers) when the mailer is on."""
        mail = [EMAIL] if key[0] == "procedure" and self.mailer is not None else []
        return [*self.showing(key), *mail]

    def channel(self, name: str) -> Channel:
        try:
            return self.channels[name]
        except KeyError:
            raise NotFound(f"unknown channel: {name}", [{"field": "name", "message": "unknown"}]) from None
