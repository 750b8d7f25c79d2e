"""The process set `make up` starts: the Procfile, with as many events workers as asked.

    python scripts/procfile_up.py --events-workers 3 > var/Procfile.up

`make up EVENTS_WORKERS=3` runs three events workers, as `docker compose up --scale
notifier-events=3` runs three containers: each its own Celery node (events@host,
events-2@host, events-3@host), all consuming the events queue. Ingest is safe to spread
(services/notifier/tests/integration/test_scale_out.py). Only the events workers are
multiplied: a channel has one writer at a time, and a second relay or beat would only
repeat work (docs/operations.md, "Scaling workers").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
EVENTS = "notifier-events"
NODE = " -n events@%h"


def with_events_workers(procfile: str, workers: int) -> str:
    """`procfile` with `workers` events workers: the one it has, then notifier-events-2, …
    each with a node name of its own."""
    if workers < 1:
        raise ValueError(f"events workers: {workers}; at least 1")
    lines, found = [], False
    for line in procfile.splitlines():
        lines.append(line)
        name, sep, command = line.partition(":")
        if sep and name.strip() == EVENTS:
            if NODE not in command:
                raise ValueError(f"the Procfile's {EVENTS} has no `{NODE.strip()}`: {line}")
            found = True
            lines += [
                f"{EVENTS}-{n}:{command.replace(NODE, f' -n events-{n}@%h')}" for n in range(2, workers + 1)
            ]
    if not found:
        raise ValueError(f"the Procfile has no {EVENTS}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-workers", type=int, default=1, help="events workers to start (1)")
    parser.add_argument("--procfile", type=Path, default=PROCFILE, help="the Procfile to start from")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(with_events_workers(args.procfile.read_text(encoding="utf-8"), args.events_workers))
    except ValueError as error:
        print(f"procfile_up: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
