"""Benchmarks run against the real system (`make bench`)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_and_save(
    run: Callable[[argparse.Namespace, Path], dict[str, Any]],
    args: argparse.Namespace,
    *,
    repo_root: Path,
    prefix: str,
) -> dict[str, Any] | None:
    """Run a benchmark in a temporary directory (kept with --keep or on failure), stopping
    everything on Ctrl-C or SIGTERM/SIGHUP, and write its JSON to args.output.
    None when interrupted."""
    os.chdir(repo_root)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    root = Path(tempfile.mkdtemp(prefix=prefix))
    ok = False
    try:
        result = run(args, root)
        ok = True
    except KeyboardInterrupt:
        print("interrupted; everything stopped", file=sys.stderr)
        return None
    finally:
        if ok and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}", file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result
