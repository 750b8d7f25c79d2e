"""The reconcile round, the safety net, gives way on the CPU to the changes on their way:
the maintenance worker runs at niceness 10 (the Procfile's `nice -n 10`, and compose's),
its pool's child that runs the rounds too; the events and channel workers keep the
system's own priority. Read from /proc of the system the Procfile started."""

from __future__ import annotations

import os
from pathlib import Path

from minhbach_testing.harness import System
from minhbach_testing.plugin import wait_until

LOWERED_BY = 10


def niceness(pid: int) -> int:
    # /proc/<pid>/stat: the command (field 2) may hold spaces, so count from its ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[16])  # field 19 of the line: nice


def with_children(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def workers_of(system: System, name: str) -> list[int]:
    proc = system.processes[name].proc
    assert proc is not None and proc.poll() is None, name
    pid = proc.pid

    def forked() -> list[int] | None:
        found = with_children(pid)
        return found if len(found) >= 2 else None

    # The main process and its pool's child (forked once the worker is up).
    pids: list[int] = wait_until(forked, timeout=30, message=f"{name}'s pool child")
    return pids


def test_the_rounds_run_at_a_lower_cpu_priority_than_the_changes(system: System) -> None:
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    lowered = min(ours + LOWERED_BY, 19)
    maintenance = workers_of(system, "notifier-maintenance")
    assert [niceness(pid) for pid in maintenance] == [lowered] * len(maintenance)
    for name in ("notifier-events", "notifier-portal", "notifier-center"):
        pids = workers_of(system, name)
        assert [niceness(pid) for pid in pids] == [ours] * len(pids), name
