"""Fixtures of the end-to-end tests beyond the shared plugin's (minhbach_testing.plugin)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from minhbach_testing.harness import System
from minhbach_testing.notifier import Inbox, start_smtp


@pytest.fixture
def inbox(system: System) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) where the system's notifier sends its mail."""
    handler = Inbox()
    controller = start_smtp(system.smtp_port, handler)
    yield handler
    controller.stop()
