"""Concurrent public search: many clients searching, and a writer beside them; the portal's
search service (what the public uses, issue 14) and the procedures API (before) side by side.

A procedures SQLite database seeded as bench.search seeds it (the 12 samples through the
write path, `--catalogue` more bulk-inserted in force, FTS5 rows included), then the
procedures API and its relay started as `make up` starts them (the Procfile's command
lines: uvicorn, one process; minhbach_testing.harness.System for the environment and
tokens). The portal's search index is written from the same procedures by the portal
channel's own functions (procedure_view -> procedure_document -> SearchIndexWriter) and
the search service started from the Procfile (notifier-search). Phases of `--duration`
seconds each:

1. `--clients` concurrent keep-alive clients (asyncio + aiohttp, one process) each running
   searches back to back over the queries of bench.search (every case of
   shared/data/search-cases.json with and without diacritics, codes, a common word, no hit,
   a far page), each client starting at another query: searches per second, p50/p99/max,
   errors (a non-200 or a failed request). Against the procedures API
   (GET /v1/procedures?q=, before), then the search service's results page
   (GET /portal/tim-kiem?q=, the HTML the public gets) with its answers kept, then without
   them (what a search costs when it is computed: an answer is kept while the index is the
   one it came from and 5 s after it changed, so under writes a popular search is computed
   about once in 5 s, a rare one each time). The CPU each search cost the server and the
   clients is measured too (from /proc);
2. a writer alone: decisions of one amendment each, published at `--writer-rate` per
   second (drafts edited, decisions created and submitted beforehand), each publish POST
   timed;
3. the writer beside the searches, for each of the two: whether public reads slow the
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

import aiohttp
import httpx

from bench.load import process_cpu
from bench.run import SHIPPED_TIMINGS, Api, BenchError, ms, summary
from bench.search import PAGE_SIZE, Query, queries, seed, seeded_code, seeded_content
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


def api_request(query: Query) -> tuple[str, dict[str, Any]]:
    return "/v1/procedures", {"q": query.q, "page": query.page, "size": PAGE_SIZE}


def portal_request(query: Query) -> tuple[str, dict[str, Any]]:
    """The results page; a far page is one kind's page."""
    if query.page > 1:
        return "/portal/tim-kiem", {"q": query.q, "loai": "procedure", "trang": query.page}
    return "/portal/tim-kiem", {"q": query.q}


def build_index(portal_dir: Path, samples: Sequence[dict[str, Any]], seeded: int) -> float:
    """The portal's search index over the same procedures, as the portal channel writes it."""
    from notifier.channels.views.procedures import procedure_view
    from notifier.disclosure.domain import SubjectState
    from notifier.search.documents import procedure_document
    from notifier.search.index import SearchIndexWriter

    t0 = time.perf_counter()
    states = [{**p, "status": "in_force"} for p in samples]
    states += [
        {**seeded_content(i, samples), "code": seeded_code(i), "status": "in_force"} for i in range(seeded)
    ]
    now = datetime.now(UTC)
    docs = [
        procedure_document(
            procedure_view(
                SubjectState(
                    kind="procedure", id=s["code"], version=1, state=s, updated_at=now, occurred_at=None
                ),
                {},
            )
        )
        for s in states
    ]
    SearchIndexWriter(portal_dir).apply([d for d in docs if d is not None], replace_all=True)
    return time.perf_counter() - t0


async def search_clients(
    base_url: str,
    queries_: Sequence[Query],
    *,
    clients: int,
    duration_s: float,
    request: Any = api_request,
    server_pid: int | None = None,
    other_pids: Sequence[int] = (),
) -> dict[str, Any]:
    """`clients` loops of back-to-back searches for `duration_s`; latencies and errors, and
    the CPU each search cost the server (`server_pid`) and these clients.

    aiohttp, not httpx: a request costs its client ~0.1 ms of CPU against ~2.8 ms, and 50
    httpx clients in one process saturated a core at ~350 searches/s on their own, so
    what they measured was themselves (a p99 of 650 ms against 20 ms with aiohttp, the same
    server, the same second)."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    # The system's other processes are this process's children too: counted apart.
    roots = {os.getpid(): "clients", **dict.fromkeys(other_pids, "others")}
    if server_pid:
        roots[server_pid] = "server"
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as http:

        async def get(path: str, params: dict[str, Any]) -> str:
            async with http.get(path, params={k: str(v) for k, v in params.items()}) as response:
                await response.read()
                return str(response.status)

        await asyncio.gather(*(get("/healthz", {}) for _ in range(clients)))  # connections open
        cpu_before = process_cpu(roots)
        start = time.perf_counter()
        end = start + duration_s

        async def client(k: int) -> None:
            i = k
            while time.perf_counter() < end:
                query = queries_[i % len(queries_)]
                i += 1
                path, params = request(query)
                t0 = time.perf_counter()
                try:
                    status = await get(path, params)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                elapsed = time.perf_counter() - t0
                if status == "200":
                    latencies.append(ms(elapsed))
                else:
                    errors[status] = errors.get(status, 0) + 1

        await asyncio.gather(*(client(k) for k in range(clients)))
        took = time.perf_counter() - start
        cpu_after = process_cpu(roots)
    per_search = {
        name: round((cpu_after[name] - cpu_before[name]) / len(latencies) * 1000, 2) if latencies else None
        for name in cpu_after
    }
    return {
        "clients": clients,
        "seconds": round(took, 2),
        "searches": len(latencies),
        "per_s": round(len(latencies) / took, 1),
        "latency": summary(latencies) if latencies else None,
        "errors": errors,
        "cpu_ms_per_search": per_search,
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
        index_s = build_index(system.portal_dir, samples, seeded)
        system.start(("procedures", "procedures-relay", "notifier-search"))
        queries_ = plan()
        n_writes = int(writer_rate * duration_s)
        codes = [seeded_code(i) for i in range(0, seeded, max(1, seeded // (3 * n_writes + 1)))][
            : 3 * n_writes
        ]
        if len(codes) < 3 * n_writes:
            raise BenchError(f"{3 * n_writes} procedures needed for the writer, {len(codes)} found")
        print(f"search load: preparing {3 * n_writes} decisions ...", file=sys.stderr, flush=True)
        decisions = prepare_decisions(system, codes)
        api_url, search_url = system.procedures_url, f"http://127.0.0.1:{system.search_port}"

        def reads(url: str, request: Any, *, seconds: float = duration_s, n: int = clients) -> dict[str, Any]:
            server = system.processes["procedures" if url == api_url else "notifier-search"].proc
            others = [
                p.proc.pid for p in system.processes.values() if p.proc is not None and p.proc is not server
            ]
            if system.redis.proc is not None:
                others.append(system.redis.proc.pid)
            return asyncio.run(
                search_clients(
                    url,
                    queries_,
                    clients=n,
                    duration_s=seconds,
                    request=request,
                    server_pid=server.pid if server is not None else None,
                    other_pids=others,
                )
            )

        # Warm-up: every query once from a few clients.
        reads(api_url, api_request, seconds=2.0, n=4)
        reads(search_url, portal_request, seconds=2.0, n=4)

        print(
            f"search load: {clients} clients for {duration_s:g} s, each target ...",
            file=sys.stderr,
            flush=True,
        )
        api_reads = reads(api_url, api_request)
        portal_cached = reads(search_url, portal_request)
        # The cache off: what a search costs when every portal run has just emptied it.
        system.processes["notifier-search"].stop()
        system.env["NOTIFIER_SEARCH_CACHE_SIZE"] = "0"
        system.start_process("notifier-search")
        reads(search_url, portal_request, seconds=2.0, n=4)
        portal_reads = reads(search_url, portal_request)

        print(f"search load: the writer alone, {writer_rate:g}/s ...", file=sys.stderr, flush=True)
        alone = Writer(system, decisions[:n_writes], per_second=writer_rate)
        alone.start()
        alone.join()

        print("search load: the writer beside each ...", file=sys.stderr, flush=True)
        beside_portal = Writer(system, decisions[n_writes : 2 * n_writes], per_second=writer_rate)
        beside_portal.start()
        portal_mixed = reads(search_url, portal_request)
        beside_portal.join()
        beside_api = Writer(system, decisions[2 * n_writes :], per_second=writer_rate)
        beside_api.start()
        api_mixed = reads(api_url, api_request)
        beside_api.join()
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
        "index_s": round(index_s, 1),
        "config": {"clients": clients, "duration_s": duration_s, "writer_rate": writer_rate},
        "writer_alone": alone.result(),
        # The procedures API's search (before issue 14: the public searched it).
        "api": {"reads": api_reads, "reads_with_writer": api_mixed, "writer_with_reads": beside_api.result()},
        # The portal's search service (the results page), its cache off unless said.
        "portal": {
            "reads_cached": portal_cached,
            "reads": portal_reads,
            "reads_with_writer": portal_mixed,
            "writer_with_reads": beside_portal.result(),
        },
    }


def table_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    def cells(r: dict[str, Any]) -> str:
        lat = r["latency"]
        errors = sum(r["errors"].values())
        spread = f"{lat['p50_ms']:.0f}/{lat['p99_ms']:.0f}/{lat['max_ms']:.0f} ms"
        cpu = r.get("cpu_ms_per_search") or {}
        cost = f"; CPU/search server {cpu.get('server')}, clients {cpu.get('clients')} ms" if cpu else ""
        return f"{r['per_s']:.0f}/s, {spread}, {errors} err{cost}"

    def publish(w: dict[str, Any]) -> str:
        p = w["publish"]
        return (
            f"{p['p50_ms']:.0f}/{p['p99_ms']:.0f}/{p['max_ms']:.0f} ms ({w['published']}, {w['errors']} err)"
        )

    c = result["config"]
    api, portal = result["api"], result["portal"]
    return [
        (
            f"search load @{result['procedures']}, {c['clients']} clients: rate, p50/p99/max",
            "",
        ),
        ("  portal search service, cached", cells(portal["reads_cached"])),
        ("  portal search service, cache off", cells(portal["reads"])),
        ("  portal search service beside a writer", cells(portal["reads_with_writer"])),
        ("  procedures API (before)", cells(api["reads"])),
        ("  procedures API beside a writer", cells(api["reads_with_writer"])),
        (f"  writer's publish p50/p99/max ({c['writer_rate']:g}/s): alone", publish(result["writer_alone"])),
        ("  writer's publish beside portal searches", publish(portal["writer_with_reads"])),
        ("  writer's publish beside API searches", publish(api["writer_with_reads"])),
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
