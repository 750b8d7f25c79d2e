"""Debian's Chromium, headless, driven by Playwright: one browser per test module
(tests/browser, and the live compose test in tests/compose); and a real SMTP server
where a running system's notifier sends its mail (tests/e2e, tests/browser).

Never `playwright install`: the browser is /usr/bin/chromium (apt-get install chromium
fonts-noto-core, done by scripts/install-system-deps.sh).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests use Debian's Chromium "
            "(apt-get install chromium fonts-noto-core); `playwright install` is not used",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def inbox(system: Any) -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) where the system's notifier sends its mail."""
    from minhbach_testing.notifier import Inbox, start_smtp

    handler = Inbox()
    controller = start_smtp(system.smtp_port, handler)
    yield handler
    controller.stop()
