"""Reading the console's HTML pages in tests: a section, a table row, its cells."""

from __future__ import annotations

import re


def section(text: str, anchor: str) -> str:
    """The page from a section's heading (`<h2 id="anchor">`) to the next one of its level."""
    start = text.index(f'<h2 id="{anchor}">')
    end = text.find("<h2", start + 1)
    return text[start : end if end > 0 else None]


def row(text: str, header: str) -> str:
    """The table row whose header cell starts with `header`."""
    found = re.search(rf'<tr[^>]*>\s*<th scope="row">{re.escape(header)}.*?</tr>', text, re.S)
    assert found, f"no row for {header!r} in {text[:2000]}"
    return found.group(0)


def cells(tr: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
