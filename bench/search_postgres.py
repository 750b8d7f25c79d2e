"""Public search at 10,000 procedures on PostgreSQL: the LIKE path with and without its trigram indexes.

A throwaway PostgreSQL cluster (`minhbach_testing.plugin.PostgresServer`: the newest
Debian server under /usr/lib/postgresql/*/bin, as tests/postgres uses) holds two copies
of one database: migrated to head by the procedures migrations (so with the pg_trgm GIN
indexes of migration 0003), seeded exactly as bench/search.py seeds SQLite (12 sample
procedures put in force by `services.load_demo`, 10,000 more bulk-inserted with their
folded `search_name`/`search_body`), then copied (`CREATE DATABASE ... TEMPLATE`) and
the copy's two trigram indexes dropped. Both are VACUUM ANALYZEd.

In process, `procedures.search.search` (the shipped PostgreSQL path) runs every query of
bench/search.py on one session per database, each query on the indexed copy and right
after on the unindexed one, so both see the same machine; each session keeps its
connection, as an API process does (psycopg prepares a statement after 5 runs). The
benchmark checks both copies answer the same totals, and EXPLAINs each query once on the
indexed copy to report whether it reads the trigram indexes or the whole table.

Without PostgreSQL server binaries it prints a note and returns `{"skipped": ...}`.
`python -m bench.search_postgres` runs it alone; `bench.run` runs it after bench/search.py.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.search import (
    NO_HIT,
    PAGE_SIZE,
    SEEDED,
    Query,
    compared,
    more_rounds,
    queries,
    seed,
    warmup_plan,
)

TRGM_INDEXES = ("ix_procedures_search_name_trgm", "ix_procedures_search_body_trgm")
PATHS = ("trigram", "no_index")


def unavailable() -> str | None:
    """Why this benchmark cannot run here, or None."""
    from minhbach_testing.plugin import postgres_bin_dir

    if postgres_bin_dir() is None:
        return "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    return None


def _plan_kind(session: Any, query: Query) -> str:
    """How PostgreSQL runs the page statement of `query`: on the trigram indexes or a full read."""
    from sqlalchemy import event

    from procedures import search

    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        _search(search, session, query)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = statements[-1]
    plan = "\n".join(session.connection().exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    session.rollback()
    if "Bitmap Index Scan on ix_procedures_search_" in plan:
        return "trigram index"
    if "Seq Scan on procedures" in plan:
        return "seq scan"
    return "other"


def _search(search: Any, session: Any, query: Query) -> Any:
    return search.search(session, q=query.q, field=None, status="in_force", page=query.page, size=PAGE_SIZE)


def in_process(
    urls: dict[str, str], plan: Sequence[Query], *, rounds: int, budget_s: float
) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from bench.run import summary
    from minhbach_shared.db import make_engine
    from procedures import search

    engines = {path: make_engine(url) for path, url in urls.items()}
    samples: dict[str, dict[str, list[float]]] = {p: collections.defaultdict(list) for p in PATHS}
    by_query: dict[str, dict[str, list[float]]] = {p: collections.defaultdict(list) for p in PATHS}
    totals: dict[str, dict[str, int]] = {p: {} for p in PATHS}
    plans: dict[str, str] = {}
    try:
        sessions = {path: Session(engine) for path, engine in engines.items()}
        try:
            for query in plan:
                plans[f"{query.q}#{query.page}"] = _plan_kind(sessions["trigram"], query)
            done, started = -1, time.perf_counter()
            while done < 0 or more_rounds(done, rounds, started, budget_s):
                for query in warmup_plan(plan) if done < 0 else plan:
                    for path in PATHS:
                        session = sessions[path]
                        t0 = time.perf_counter()
                        found = _search(search, session, query)
                        elapsed = time.perf_counter() - t0
                        session.rollback()  # end the read transaction, as a request does
                        totals[path][f"{query.q}#{query.page}"] = found.total
                        if done >= 0:
                            samples[path][query.kind].append(elapsed * 1000)
                            by_query[path][f"{query.q}#{query.page}"].append(elapsed * 1000)
                done += 1
        finally:
            for session in sessions.values():
                session.close()
    finally:
        for engine in engines.values():
            engine.dispose()
    out: dict[str, Any] = {"rounds": done, "seconds": round(time.perf_counter() - started, 1), "plans": plans}
    for path in PATHS:
        every = [v for values in samples[path].values() for v in values]
        out[path] = {
            "overall": summary(every),
            "by_kind": {kind: summary(values) for kind, values in samples[path].items()},
            "p50_ms_by_query": {q: summary(values)["p50_ms"] for q, values in by_query[path].items()},
            "totals": totals[path],
        }
    return out


def _copy_without_indexes(server: Any, source_url: str) -> str:
    """A copy of the seeded database, its trigram indexes dropped; its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine.url import make_url

    from minhbach_shared.db import make_engine

    source = make_url(source_url).database
    target = f"{source}_no_index"
    admin = make_engine(server.url("postgres"))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))
    finally:
        admin.dispose()
    url = server.url(target)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for index in TRGM_INDEXES:
                conn.execute(text(f"DROP INDEX {index}"))
    finally:
        engine.dispose()
    return url


def _vacuum_analyze(url: str) -> str:
    """VACUUM ANALYZE the procedures (statistics; GIN pending list merged); the server version."""
    from sqlalchemy import text

    from minhbach_shared.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE procedures"))
            return str(conn.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def run(
    root: Path | None = None,
    *,
    procedures: int = SEEDED,
    rounds: int = 5,
    budget_s: float = 60.0,
) -> dict[str, Any]:
    """Seed, copy, measure. Up to `rounds` rounds per path, no new round after `budget_s`."""
    reason = unavailable()
    if reason is not None:
        print(f"search on PostgreSQL: skipped, {reason}", file=sys.stderr, flush=True)
        return {"skipped": reason}
    from minhbach_testing.plugin import PostgresServer, RedisServer, free_port, postgres_bin_dir, shared_dir

    data = shared_dir() / "data"
    samples = json.loads((data / "procedures-sample.json").read_text(encoding="utf-8"))["procedures"]
    cases = json.loads((data / "search-cases.json").read_text(encoding="utf-8"))["cases"]
    plan = queries(cases, samples)
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None
    # Its own directory from mkdtemp: as root, the server runs as `postgres`, which must
    # reach it (the bench's temporary directory is private to its user).
    server = PostgresServer(
        bin_dir=bin_dir, root=Path(tempfile.mkdtemp(prefix="mb-bench-pg-")), port=free_port()
    )
    redis_dir = Path(tempfile.mkdtemp(prefix="mb-bench-pg-redis-")) if root is None else root / "redis-pg"
    redis = RedisServer(port=free_port(), dir=redis_dir)
    try:
        server.start()
        redis.start()
        client = redis.client()
        url = server.create_database("search")
        print(
            f"search on PostgreSQL {bin_dir.parent.name}: seeding {procedures} + {len(samples)} ...",
            file=sys.stderr,
            flush=True,
        )
        seed_s = seed(url, client, samples, procedures)
        client.close()
        urls = {"trigram": url, "no_index": _copy_without_indexes(server, url)}
        version = ""
        for each in urls.values():
            version = _vacuum_analyze(each)
        print(
            f"search on PostgreSQL: trigram indexes and none, interleaved, x{rounds} ...",
            file=sys.stderr,
            flush=True,
        )
        measured = in_process(urls, plan, rounds=rounds, budget_s=budget_s)
    except BaseException:
        print(f"--- postgres\n{server.tail(30)}", file=sys.stderr)
        raise
    finally:
        redis.stop()
        try:
            server.stop()
        finally:
            shutil.rmtree(server.root, ignore_errors=True)
            if root is None:
                shutil.rmtree(redis_dir, ignore_errors=True)

    mismatched = {
        k: (v, measured["no_index"]["totals"].get(k))
        for k, v in measured["trigram"]["totals"].items()
        if v != measured["no_index"]["totals"].get(k)
    }
    if mismatched:
        raise RuntimeError(f"PostgreSQL totals differ with and without the trigram indexes: {mismatched}")
    if measured["trigram"]["totals"][f"{NO_HIT}#1"]:
        raise RuntimeError(f"the no-hit query {NO_HIT!r} found something")
    return {
        "procedures": procedures + len(samples),
        "page_size": PAGE_SIZE,
        "postgres": version,
        "seed_s": round(seed_s, 1),
        "config": {"rounds": rounds, "budget_s": budget_s},
        "in_process": measured,
    }


def table_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """Lines for bench.run's table."""
    if "skipped" in result:
        return [("search on PostgreSQL", "skipped (no server binaries)")]
    measured = result["in_process"]
    index, none = measured["trigram"], measured["no_index"]
    found = compared(
        f"search @{result['procedures']} on PostgreSQL {result['postgres']} (p50/p99 ms)",
        "trigram | no index",
        [index, none],
    )
    kinds = collections.Counter(measured["plans"].values())
    found.append(
        (
            "  plans with the indexes (page statement)",
            ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())),
        )
    )
    found.append(
        ("  measured per path", f"{index['overall']['n']} in {measured['seconds']:.0f} s (both paths)"),
    )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.search_postgres", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--procedures", type=int, default=SEEDED)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per path over every query (default 5)")
    parser.add_argument("--budget-s", type=float, default=60.0, help="no new round after this (default 60)")
    parser.add_argument("--output", type=Path, help="also write the JSON result here")
    args = parser.parse_args(argv)
    result = run(procedures=args.procedures, rounds=args.rounds, budget_s=args.budget_s)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for key, value in table_rows(result):
        print(f"{key:<50} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
