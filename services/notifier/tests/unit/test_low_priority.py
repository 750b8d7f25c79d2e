"""The reconcile round, the safety net, gives way on the CPU to the changes on their way:
it runs on a thread of lower priority (Linux gives each thread its own), and the worker's
other tasks keep theirs."""

from __future__ import annotations

import os
import threading

import pytest

from notifier import tasks
from notifier.disclosure.services import ReconcileReport


def niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_work_runs_at_lower_priority_and_the_caller_keeps_its_own() -> None:
    before = niceness()
    seen = tasks.at_low_priority(lambda: (niceness(), threading.get_native_id()))
    assert seen[0] == min(before + tasks.RECONCILE_NICENESS, 19)
    assert seen[1] != threading.get_native_id()
    assert niceness() == before


def test_what_the_work_raises_is_raised_to_the_caller() -> None:
    def fails() -> None:
        raise LookupError("owner unreachable")

    with pytest.raises(LookupError, match="owner unreachable"):
        tasks.at_low_priority(fails)


def test_the_reconcile_task_runs_its_round_at_lower_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds: list[tuple[bool, int]] = []

    def reconcile(parts: object, *, at_start: bool = False) -> ReconcileReport:
        rounds.append((at_start, niceness()))
        return ReconcileReport()

    monkeypatch.setattr(tasks, "parts", lambda: object())
    monkeypatch.setattr(tasks.disclosure, "reconcile", reconcile)
    before = niceness()
    tasks.reconcile.apply(kwargs={"catch_up": True}).get()
    assert rounds == [(True, min(before + tasks.RECONCILE_NICENESS, 19))]
    assert niceness() == before
