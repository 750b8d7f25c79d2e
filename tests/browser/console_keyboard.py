"""Driving a console page with the keyboard alone (Tab, Enter, Space, arrows, typing): the
browser tests' journeys (test_console_journey.py, test_console_hotline.py)."""

from __future__ import annotations

from typing import Any

from console.domain import DEMO_PASSWORD as PASSWORD
from minhbach_testing.harness import System

# What a screen reader would call the focused element: its label, else its text.
FOCUSED_NAME = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  if (el.labels && el.labels.length) return el.labels[0].innerText.replace(/\\s+/g, " ").trim();
  return (el.innerText || el.value || "").replace(/\\s+/g, " ").replace(/ ([:,.])/g, "$1").trim();
}"""


class Keyboard:
    def __init__(self, page: Any) -> None:
        self.page = page

    def focused(self) -> str:
        return str(self.page.evaluate(FOCUSED_NAME))

    def tab_to(self, name: str, *, prefix: bool = False, limit: int = 300) -> None:
        """Tab forward until the element named `name` has the focus."""
        seen = []
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            now = self.focused()
            if now == name or (prefix and now.startswith(name)):
                return
            seen.append(now)
        raise AssertionError(f"Tab never reached {name!r}; passed {seen[-40:]}")

    def type_into(self, label: str, text: str, *, prefix: bool = False) -> None:
        self.tab_to(label, prefix=prefix)
        self.page.keyboard.type(text)

    def activate(self, name: str, *, prefix: bool = False) -> None:
        """Tab to a link or button and press Enter; wait for the page it opens."""
        self.tab_to(name, prefix=prefix)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    def open(self, url: str) -> None:
        """An address typed in the browser's bar."""
        self.page.goto(url)

    def check(self, label: str) -> None:
        self.tab_to(label)
        self.page.keyboard.press("Space")

    def choose(self, label: str, option: str) -> None:
        """A select: the arrow keys move through its options, as in any browser."""
        self.tab_to(label)
        options = self.page.evaluate("Array.from(document.activeElement.options, o => o.text)")
        now = self.page.evaluate("document.activeElement.selectedIndex")
        target = options.index(option)
        for _ in range(abs(target - now)):
            self.page.keyboard.press("ArrowDown" if target > now else "ArrowUp")
        chosen = self.page.evaluate("document.activeElement.selectedOptions[0].text")
        assert chosen == option, (label, chosen)


def sign_in(page: Any, system: System, username: str) -> Keyboard:
    keys = Keyboard(page)
    page.goto(f"{system.console_url}/console/sign-in")
    # The page puts the cursor there (autofocus: applied once the page is shown, which a
    # busy machine may do a moment after the load event).
    page.wait_for_function(
        "document.activeElement && document.activeElement.tagName === 'INPUT'", timeout=5000
    )
    assert keys.focused() == "Tên đăng nhập"
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{system.console_url}/console/"
    return keys


def main_text(page: Any) -> str:
    return str(page.locator("main").inner_text())
