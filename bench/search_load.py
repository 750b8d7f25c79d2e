"""Concurrent public search: many clients searching the procedures API, and a writer beside them.

A procedures SQLite database seeded as bench.search seeds it (the 12 samples through the
write path, `--catalogue` more bulk-inserted in force, FTS5 rows included), then the
procedures API and its relay started as `make up` starts them (the Procfile's command
lines: uvicorn, one process; minhbach_testing.harness.System for the environment and
tokens). Three phases of `--duration` seconds each:

1. `--clients` concurrent keep-alive clients (asyncio + httpx, one process) each running
   GET /v1/procedures?q=... back to back over the queries of bench.search (every case of
   shared/data/search-cases.json with and without diacritics, codes, a common word, no hit,
   a far page), each client starting at another query: searches per second, p50/p99/max,
   errors (a non-200 or a failed request);
2. a writer alone: decisions of one amendment each, published at `--writer-rate` per
   second (drafts edited, decisions created and submitted beforehand), each publish POST
   timed;
3. both at once: the same searches and the same writer. Whether public reads slow the
   writers down is the writer's publish latency in 3 against 2.

`python -m bench.search_load` runs it alone (results in bench/results/search_load.json);
`make bench` runs it after the other search sections (under "search_load" in latest.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.run import SHIPPED_TIMINGS, Api, BenchError, ms, summary
from bench.search import PAGE_SIZE, Query, queries, seed, seeded_code
from minhbach_shared.auth import Role
from minhbach_testing.harness import System
from minhbach_testing.plugin import REPO_ROOT, RedisServer, free_port, shared_dir

RESULTS = Path(__file__).resolve().parent / "results" / "search_load.json"


def plan() -> list[Query]:
    data = shared_dir() / "data"
    samples = json.loads((data / "procedures-sample.json").read_text(encoding="utf-8"))["procedures"]
    cases = json.loads((data / "search-cases.json").read_text(encoding="utf-8"))["cases"]
    found = queries(cases, samples)
    found += [Query("code", seeded_code(i)) for i in (7, 1234, 8888)]
    return found


async def search_clients(
    base_url: str, queries_: Sequence[Query], *, clients: int, duration_s: float
) -> dict[str, Any]:
    """`clients` loops of back-to-back searches for `duration_s`; latencies and errors."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        await asyncio.gather(*(http.get("/healthz") for _ in range(clients)))  # connections open
        start = time.perf_counter()
        end = start + duration_s

        async def client(k: int) -> None:
            i = k
            while time.perf_counter() < end:
                query = queries_[i % len(queries_)]
                i += 1
                params: dict[str, Any] = {"q": query.q, "page": query.page, "size": PAGE_SIZE}
                t0 = time.perf_counter()
                try:
                    response = await http.get("/v1/procedures", params=params)
                    status = str(response.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = time.perf_counter() - t0
                if status == "200":
                    latencies.append(ms(elapsed))
                else:
                    errors[status] = errors.get(status, 0) + 1

        await asyncio.gather(*(client(k) for k in range(clients)))
        took = time.perf_counter() - start
    return {
        "clients": clients,
        "seconds": round(took, 2),
        "searches": len(latencies),
        "per_s": round(len(latencies) / took, 1),
        "latency": summary(latencies) if latencies else None,
        "errors": errors,
    }


class Writer(threading.Thread):
    """Publishes prepared decisions at `per_second`, each publish POST timed."""

    def __init__(self, system: System, decisions: Sequence[int], *, per_second: float) -> None:
        super().__init__(name="bench-writer", daemon=True)
        self.system, self.decisions, self.per_second = system, list(decisions), per_second
        self.latencies: list[float] = []
        self.errors = 0

    def run(self) -> None:
        headers = self.system.token(Role.APPROVER)
        with httpx.Client(base_url=self.system.procedures_url, timeout=60) as http:
            start = time.perf_counter()
            for k, decision in enumerate(self.decisions):
                time.sleep(max(0.0, start + k / self.per_second - time.perf_counter()))
                t0 = time.perf_counter()
                response = http.post(f"/v1/decisions/{decision}/publish", headers=headers)
                if response.status_code == 200:
                    self.latencies.append(ms(time.perf_counter() - t0))
                else:
                    self.errors += 1

    def result(self) -> dict[str, Any]:
        return {
            "per_s": self.per_second,
            "published": len(self.latencies),
            "errors": self.errors,
            "publish": summary(self.latencies) if self.latencies else None,
        }


def prepare_decisions(system: System, codes: Sequence[str]) -> list[int]:
    """One amendment each: the draft's processing time edited, the decision made and submitted."""
    api = Api(system)
    api.decisions = 70_000
    try:
        found = []
        for i, code in enumerate(codes):
            api.set_processing_time(code, 30_000 + i)
            found.append(api.create_decision("amend", [code]))
        return found
    finally:
        api.close()


def run(root: Path, *, catalogue: int, clients: int, duration_s: float, writer_rate: float) -> dict[str, Any]:
    data = shared_dir() / "data"
    samples = json.loads((data / "procedures-sample.json").read_text(encoding="utf-8"))["procedures"]
    redis = RedisServer(port=free_port(), dir=root / "redis")
    system: System | None = None
    try:
        redis.start()
        system = System(root=root, redis=redis, overrides=SHIPPED_TIMINGS)
        seeded = max(0, catalogue - len(samples))
        print(f"search load: seeding {seeded} + {len(samples)} procedures ...", file=sys.stderr, flush=True)
        client = redis.client()
        seed_s = seed(system.env["PROCEDURES_DATABASE_URL"], client, samples, seeded)
        client.close()
        system.start(("procedures", "procedures-relay"))
        queries_ = plan()
        n_writes = int(writer_rate * duration_s)
        codes = [seeded_code(i) for i in range(0, seeded, max(1, seeded // (2 * n_writes + 1)))][
            : 2 * n_writes
        ]
        if len(codes) < 2 * n_writes:
            raise BenchError(f"{2 * n_writes} procedures needed for the writer, {len(codes)} found")
        print(f"search load: preparing {2 * n_writes} decisions ...", file=sys.stderr, flush=True)
        decisions = prepare_decisions(system, codes)
        url = system.procedures_url
        # Warm-up: every query once from a few clients.
        asyncio.run(search_clients(url, queries_, clients=4, duration_s=2.0))

        print(f"search load: {clients} clients for {duration_s:g} s ...", file=sys.stderr, flush=True)
        reads = asyncio.run(search_clients(url, queries_, clients=clients, duration_s=duration_s))

        print(f"search load: the writer alone, {writer_rate:g}/s ...", file=sys.stderr, flush=True)
        alone = Writer(system, decisions[:n_writes], per_second=writer_rate)
        alone.start()
        alone.join()

        print("search load: the writer beside the readers ...", file=sys.stderr, flush=True)
        beside = Writer(system, decisions[n_writes:], per_second=writer_rate)
        beside.start()
        mixed = asyncio.run(search_clients(url, queries_, clients=clients, duration_s=duration_s))
        beside.join()
    except BaseException:
        if system is not None:
            print(system.logs(), file=sys.stderr)
        raise
    finally:
        if system is not None:
            system.stop()
        redis.stop()
    return {
        "procedures": seeded + len(samples),
        "queries": len(queries_),
        "seed_s": round(seed_s, 1),
        "config": {"clients": clients, "duration_s": duration_s, "writer_rate": writer_rate},
        "reads": reads,
        "writer_alone": alone.result(),
        "reads_with_writer": mixed,
        "writer_with_reads": beside.result(),
    }


def table_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    def cells(r: dict[str, Any]) -> str:
        lat = r["latency"]
        errors = sum(r["errors"].values())
        spread = f"{lat['p50_ms']:.0f}/{lat['p99_ms']:.0f}/{lat['max_ms']:.0f} ms"
        return f"{r['per_s']:.0f}/s, {spread}, {errors} err"

    def publish(w: dict[str, Any]) -> str:
        p = w["publish"]
        return (
            f"{p['p50_ms']:.0f}/{p['p99_ms']:.0f}/{p['max_ms']:.0f} ms ({w['published']}, {w['errors']} err)"
        )

    c = result["config"]
    return [
        (
            f"search load @{result['procedures']}, {c['clients']} clients: rate, p50/p99/max",
            cells(result["reads"]),
        ),
        ("  the same beside a writer", cells(result["reads_with_writer"])),
        (f"  writer's publish p50/p99/max ({c['writer_rate']:g}/s): alone", publish(result["writer_alone"])),
        ("  writer's publish beside the searches", publish(result["writer_with_reads"])),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_load", description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", type=int, default=10_000, help="procedures in force (10000)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent search clients (50)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each phase (10)")
    parser.add_argument(
        "--writer-rate", type=float, default=2.0, help="decisions the writer publishes a second (2)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    os.chdir(REPO_ROOT)
    root = Path(tempfile.mkdtemp(prefix="mb-bench-search-load-"))
    try:
        result = run(
            root,
            catalogue=args.catalogue,
            clients=args.clients,
            duration_s=args.duration,
            writer_rate=args.writer_rate,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result["timestamp"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    rows = table_rows(result)
    width = max(len(k) for k, _ in rows)
    print(f"bench.search_load — {result['timestamp']} — load at end {result['loadavg_at_end']}")
    print("\n".join(f"{k:<{width}}   {v}" for k, v in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
