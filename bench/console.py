"""The console's pages at a thousand procedures: list, search, the form, the procedure's
page and its history, as a signed-in editor's browser asks for them (one keep-alive
client, sequential requests). Goal (issue 10): p95 under 300 ms.

Each request is a real page: the console checks the session in its database, signs a
token, calls the procedures API as the editor, and renders the template.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from minhbach_testing.harness import System

GOAL_P95_MS = 300.0


def _pages(code: str) -> dict[str, str]:
    return {
        "list (page 1 of the catalogue)": "/console/procedures",
        "list, searched (no diacritics)": "/console/procedures?q=giay+phep+xay+dung",
        "list, drafts": "/console/procedures?status=draft",
        "form: new procedure": "/console/procedures/new",
        "form: edit a procedure in force": f"/console/procedures/{code}/edit",
        "procedure page (draft vs in force)": f"/console/procedures/{code}",
        "history (two versions side by side)": f"/console/procedures/{code}/history",
    }


def measure(system: System, code: str, *, requests: int, warmup: int, procedures: int) -> dict[str, Any]:
    from bench.run import summary

    system.manage("console", "demo-accounts")
    out: dict[str, Any] = {
        "procedures": procedures,
        "requests": requests,
        "goal_p95_ms": GOAL_P95_MS,
        "pages": {},
    }
    with system.console("bientap") as browser:
        for label, path in _pages(code).items():
            took: list[float] = []
            for i in range(warmup + requests):
                started = time.perf_counter()
                answer = browser.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                if answer.status_code != 200:
                    raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
                if i >= warmup:
                    took.append(elapsed)
            stats = summary(took)
            stats["p95_ms"] = round(sorted(took)[max(0, int(len(took) * 0.95) - 1)], 2)
            stats["bytes"] = len(answer.content)
            out["pages"][label] = stats
    out["all_under_goal"] = all(p["p95_ms"] < GOAL_P95_MS for p in out["pages"].values())
    return out


def table_rows(result: dict[str, Any]) -> Sequence[tuple[str, str]]:
    rows = [(f"console pages at {result['procedures']} procedures (p95, goal < 300 ms)", "")]
    for label, stats in result["pages"].items():
        rows.append((f"  {label}", f"{stats['p50_ms']:.1f} / {stats['p95_ms']:.1f} ms"))
    return rows
