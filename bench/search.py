"""Public search at 10,000 procedures: FTS5 against the portable LIKE-scan, and over HTTP.

One SQLite database made by the procedures service's own migration holds the 12 sample
procedures (put in force by `services.load_demo`, the real write path) and 10,000 more in
force, bulk-inserted with the same rows the write path produces (`procedures` with its
folded `search_name`/`search_body` columns, and the FTS5 table `procedure_search`). Their
names and bodies are recombined from shared/data/procedures-sample.json so the words
and their frequencies look like the real catalogue.

Then, on that one database:

1. in process, `procedures.search.search` on one session, each query timed on the
   shipped SQLite path (FTS5 + bm25) and right after on the portable path the service
   runs on PostgreSQL (folded columns, one ILIKE per word), interleaved so both see the
   same machine. The portable path is reached by making `search._is_sqlite` answer
   False for the call: the code measured is the shipped fallback, on the same rows.
2. over HTTP, `GET /v1/procedures?q=...` against the real API (uvicorn --factory
   procedures.app:create_app, its own process and redis-server), one keep-alive client.

`python -m bench.search` runs it alone; `make bench` runs it after the system benchmark.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import httpx

SEEDED = 10_000
PAGE_SIZE = 20  # the API's default page size
NO_HIT = "hộ chiếu ngoại giao"
COMMON = "cap"
PAGED = ("giay phep xay dung", 5)

# Recombined with the sample's own names into 10,000 distinct, realistic names.
ACTIONS = [
    "Cấp",
    "Cấp lại",
    "Cấp đổi",
    "Điều chỉnh",
    "Gia hạn",
    "Thu hồi",
    "Thẩm định",
    "Đăng ký",
    "Xác nhận",
    "Công bố",
]
OBJECTS = [
    "giấy phép xây dựng",
    "giấy phép sửa chữa, cải tạo công trình",
    "giấy phép quy hoạch dự án",
    "chứng chỉ hành nghề hoạt động xây dựng",
    "chứng chỉ năng lực hoạt động xây dựng",
    "chứng chỉ hành nghề môi giới bất động sản",
    "giấy chứng nhận quyền sử dụng đất",
    "giấy chứng nhận đăng ký doanh nghiệp",
    "giấy chứng nhận đủ điều kiện kinh doanh",
    "giấy phép lái xe",
    "giấy phép kinh doanh vận tải bằng xe ô tô",
    "giấy phép hoạt động khám bệnh, chữa bệnh",
    "chứng chỉ hành nghề dược",
    "giấy phép thành lập trường mầm non",
    "giấy phép tổ chức biểu diễn nghệ thuật",
    "giấy phép khai thác nước mặt",
    "giấy phép môi trường",
    "báo cáo đánh giá tác động môi trường",
    "phương án phòng cháy, chữa cháy",
    "hồ sơ hoàn công công trình",
    "thông báo nhà ở hình thành trong tương lai",
    "hợp quy sản phẩm, hàng hóa vật liệu xây dựng",
    "báo cáo nghiên cứu khả thi đầu tư xây dựng",
    "thiết kế cơ sở công trình giao thông",
    "giấy phép sử dụng tần số vô tuyến điện",
    "giấy chứng nhận an toàn thực phẩm",
    "giấy phép nhập khẩu thuốc thú y",
    "giấy xác nhận tình trạng hôn nhân",
    "giấy phép lao động cho người nước ngoài",
    "giấy chứng nhận đăng ký hộ kinh doanh",
    "giấy phép đào đường, lắp đặt công trình ngầm",
    "giấy phép hoạt động bến thủy nội địa",
    "chứng nhận quyền sở hữu nhà ở",
    "giấy phép khai thác khoáng sản",
    "giấy phép xả thải vào nguồn nước",
    "chứng chỉ quy hoạch xây dựng",
    "giấy phép kinh doanh karaoke",
    "giấy phép thành lập cơ sở giáo dục nghề nghiệp",
    "giấy phép hoạt động điện lực",
    "giấy phép vận chuyển hàng nguy hiểm",
]
QUALIFIERS = [
    "",
    "đối với công trình cấp I, cấp II",
    "đối với công trình cấp III, cấp IV",
    "cho tổ chức",
    "cho cá nhân",
    "cho doanh nghiệp có vốn đầu tư nước ngoài",
    "lần đầu hạng II, hạng III",
    "do hết hạn",
    "do bị mất, bị hỏng",
    "trong khu công nghiệp",
    "tại khu vực nông thôn",
    "thuộc thẩm quyền cấp tỉnh",
    "thuộc thẩm quyền cấp huyện",
    "theo thủ tục rút gọn",
    "trên môi trường điện tử",
    "đối với nhà ở riêng lẻ",
    "đối với dự án đầu tư công",
    "cho hộ gia đình",
    "khi thay đổi nội dung",
    "đối với tàu cá",
    "trong lĩnh vực y tế",
    "trong lĩnh vực giáo dục",
    "trong lĩnh vực giao thông vận tải",
    "trong lĩnh vực tài nguyên và môi trường",
    "trong lĩnh vực văn hóa, thể thao và du lịch",
]
FIELDS = [
    ("Hoạt động xây dựng", "Sở Xây dựng", "XD"),
    ("Đất đai", "Sở Tài nguyên và Môi trường", "DD"),
    ("Thành lập và hoạt động doanh nghiệp", "Sở Kế hoạch và Đầu tư", "KD"),
    ("Đường bộ", "Sở Giao thông vận tải", "GT"),
    ("Khám bệnh, chữa bệnh", "Sở Y tế", "YT"),
    ("Giáo dục và Đào tạo", "Sở Giáo dục và Đào tạo", "GD"),
    ("Văn hóa", "Sở Văn hóa, Thể thao và Du lịch", "VH"),
    ("Lao động", "Sở Lao động - Thương binh và Xã hội", "LD"),
]
PROVINCES = ["Thái Bình", "Nam Định", "Hà Nam", "Ninh Bình", "Hưng Yên", "Hải Dương"]


# -- the catalogue ------------------------------------------------------------------------


def seeded_code(i: int) -> str:
    return f"SEED.{FIELDS[i % len(FIELDS)][2]}.{i:05d}"


def seeded_content(i: int, samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Procedure i of the 10,000: a sample's body under another name, field and agency."""
    base = samples[i % len(samples)]
    content = {k: copy.deepcopy(v) for k, v in base.items() if k != "code"}
    action = ACTIONS[i % len(ACTIONS)]
    obj = OBJECTS[(i // len(ACTIONS)) % len(OBJECTS)]
    qualifier = QUALIFIERS[(i // (len(ACTIONS) * len(OBJECTS))) % len(QUALIFIERS)]
    field, agency, _ = FIELDS[(i * 7 + i // 13) % len(FIELDS)]
    province = PROVINCES[(i // 17) % len(PROVINCES)]
    content["name"] = " ".join(filter(None, [action, obj, qualifier]))
    content["field"] = field
    content["agency"] = f"{agency} tỉnh {province}"
    content["result"] = obj[0].upper() + obj[1:]
    content["processing_time"] = {"value": 5 + i % 26, "unit": "working_days"}
    return content


def seed(database_url: str, redis_client: Any, samples: Sequence[dict[str, Any]], n: int) -> float:
    """Migrate, put the samples in force, bulk-insert n more in force; seconds taken.

    SQLite or PostgreSQL: the FTS5 rows are written on SQLite only, as the write path does."""
    from sqlalchemy import func, insert, select, text

    from minhbach_shared.db import make_engine, migrate
    from minhbach_shared.outbox import relay_waker
    from minhbach_shared.text import fold
    from procedures import services
    from procedures.db import procedures
    from procedures.manage import MIGRATIONS
    from procedures.search import search_columns
    from procedures.uow import UnitOfWork

    t0 = time.perf_counter()
    migrate(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    now = datetime.now(UTC)
    loaded = services.load_demo(
        UnitOfWork(engine, relay_waker(redis_client, "procedures")), {"procedures": samples}, now=now
    )
    if loaded != len(samples):
        raise RuntimeError(f"load_demo put {loaded} procedures in force, not {len(samples)}")
    with engine.connect() as conn:
        start = int(conn.execute(select(func.max(procedures.c.id))).scalar_one()) + 1
    rows: list[dict[str, Any]] = []
    fts: list[dict[str, Any]] = []
    for i in range(n):
        content = seeded_content(i, samples)
        code = seeded_code(i)
        columns = search_columns(code, content)
        rows.append(
            {
                "id": start + i,
                "code": code,
                "status": "in_force",
                "version": 1,
                "published": content,
                "name": content["name"],
                "field": content["field"],
                "effective_at": now,
                # what procedures.search.index_procedure writes, for the portable path
                **columns,
                "created_at": now,
                "updated_at": now,
            }
        )
        fts.append(
            {
                "id": start + i,
                "code": fold(code),
                "name": fold(content["name"]),
                "body": columns["search_body"],
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(procedures), rows)
        if sqlite:
            conn.execute(
                text(
                    "INSERT INTO procedure_search (rowid, code, name, body) VALUES (:id, :code, :name, :body)"
                ),
                fts,
            )
    if sqlite:
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            conn.execute(text("ANALYZE"))
    else:
        # ANALYZE (and VACUUM, for the visibility map) outside a transaction block.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE procedures"))
    engine.dispose()
    return time.perf_counter() - t0


# -- the queries --------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    kind: str
    q: str
    page: int = 1


def with_diacritics(plain: str, samples: Sequence[dict[str, Any]]) -> str:
    """How the sample text writes the folded words `plain`: the first run of words in it
    that folds to `plain`, else word by word the most frequent written form."""
    from minhbach_shared.text import fold

    written = re.findall(r"\w+", json.dumps(samples, ensure_ascii=False).lower())
    folded = [fold(w) for w in written]
    want = plain.split()
    for i in range(len(folded) - len(want) + 1):
        if folded[i : i + len(want)] == want:
            return " ".join(written[i : i + len(want)])
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for word, f in zip(written, folded, strict=True):
        counts[f][word] += 1
    return " ".join(counts[w].most_common(1)[0][0] if w in counts else w for w in want)


def queries(cases: Sequence[dict[str, Any]], samples: Sequence[dict[str, Any]]) -> list[Query]:
    """Every search case with and without diacritics, codes, a common word, no hit, a far page."""
    from minhbach_shared.text import fold

    found: list[Query] = []
    for case in cases:
        q = case["q"]
        if re.fullmatch(r"[A-Za-z]+(\.[A-Za-z0-9]+)+", q):
            found.append(Query("code", q))
            continue
        plain = fold(q)
        written = q if plain != q.lower() else with_diacritics(plain, samples)
        found.append(Query("words, diacritics", written))
        found.append(Query("words, no diacritics", plain))
    found.append(Query("code", seeded_code(4242).lower()))
    found.append(Query("one common word", COMMON))
    found.append(Query("no hit", NO_HIT))
    found.append(Query(f"page {PAGED[1]} of a common query", PAGED[0], PAGED[1]))
    unique: dict[tuple[str, int], Query] = {}
    for query in found:
        unique.setdefault((query.q, query.page), query)
    return list(unique.values())


def warmup_plan(plan: Sequence[Query]) -> list[Query]:
    """Unmeasured first requests: the cheap ones (connections, statement cache, page cache)."""
    return [q for q in plan if q.kind in ("code", "no hit")] * 2


def more_rounds(done: int, rounds: int, started: float, budget_s: float) -> bool:
    """Another round? Up to `rounds`, but no new round after `budget_s` (at least one round)."""
    return done < rounds and (done == 0 or time.perf_counter() - started < budget_s)


# -- in process: FTS5 against the portable path ---------------------------------------------


class StatementClock:
    """Time spent in the count and in the page statement of each search call."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.seconds: dict[str, float] = collections.defaultdict(float)
        self._t0 = 0.0

        @event.listens_for(engine, "before_cursor_execute")
        def _before(*_: Any) -> None:
            self._t0 = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(_conn: Any, _cursor: Any, statement: str, *__: Any) -> None:
            kind = "count" if statement.lstrip().upper().startswith("SELECT COUNT") else "page"
            self.seconds[kind] += time.perf_counter() - self._t0


@contextmanager
def portable_path() -> Iterator[None]:
    from procedures import search

    with mock.patch.object(search, "_is_sqlite", return_value=False):
        yield


def in_process(database_url: str, plan: Sequence[Query], *, rounds: int, budget_s: float) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from minhbach_shared.db import make_engine
    from procedures import search

    engine = make_engine(database_url)
    clock = StatementClock(engine)
    paths = {"fts5": None, "like_scan": portable_path}
    samples: dict[str, dict[str, list[float]]] = {p: collections.defaultdict(list) for p in paths}
    split: dict[str, dict[str, float]] = {p: collections.defaultdict(float) for p in paths}
    totals: dict[str, dict[str, int]] = {p: {} for p in paths}
    try:
        with Session(engine) as session:
            done, started = -1, time.perf_counter()
            while done < 0 or more_rounds(done, rounds, started, budget_s):
                for query in warmup_plan(plan) if done < 0 else plan:
                    for path, switch in paths.items():
                        clock.seconds.clear()
                        t0 = time.perf_counter()
                        if switch is None:
                            found = _search(search, session, query)
                        else:
                            with switch():
                                found = _search(search, session, query)
                        elapsed = time.perf_counter() - t0
                        session.rollback()  # end the read transaction, as a request does
                        totals[path][f"{query.q}#{query.page}"] = found.total
                        if done >= 0:
                            samples[path][query.kind].append(elapsed * 1000)
                            for kind, seconds in clock.seconds.items():
                                split[path][kind] += seconds * 1000
                done += 1
    finally:
        engine.dispose()
    from bench.run import summary

    out: dict[str, Any] = {"rounds": done, "seconds": round(time.perf_counter() - started, 1)}
    for path in paths:
        every = [v for values in samples[path].values() for v in values]
        out[path] = {
            "overall": summary(every),
            "by_kind": {kind: summary(values) for kind, values in samples[path].items()},
            "count_statement_ms_total": round(split[path]["count"], 1),
            "page_statement_ms_total": round(split[path]["page"], 1),
            "totals": totals[path],
        }
    return out


def _search(search: Any, session: Any, query: Query) -> Any:
    return search.search(session, q=query.q, field=None, status="in_force", page=query.page, size=PAGE_SIZE)


# -- over HTTP ----------------------------------------------------------------------------


def over_http(base_url: str, plan: Sequence[Query], *, rounds: int, budget_s: float) -> dict[str, Any]:
    from bench.run import summary

    samples: dict[str, list[float]] = collections.defaultdict(list)
    totals: dict[str, int] = {}
    with httpx.Client(base_url=base_url, timeout=30) as http:
        done, started = -1, time.perf_counter()
        while done < 0 or more_rounds(done, rounds, started, budget_s):
            for query in warmup_plan(plan) if done < 0 else plan:
                params: dict[str, Any] = {"q": query.q, "page": query.page, "size": PAGE_SIZE}
                t0 = time.perf_counter()
                response = http.get("/v1/procedures", params=params)
                elapsed = time.perf_counter() - t0
                if response.status_code != 200:
                    raise RuntimeError(f"GET /v1/procedures {params}: {response.status_code} {response.text}")
                totals[f"{query.q}#{query.page}"] = int(response.json()["total"])
                if done >= 0:
                    samples[query.kind].append(elapsed * 1000)
            done += 1
    every = [v for values in samples.values() for v in values]
    return {
        "rounds": done,
        "seconds": round(time.perf_counter() - started, 1),
        "overall": summary(every),
        "by_kind": {kind: summary(values) for kind, values in samples.items()},
        "totals": totals,
    }


# -- the whole measurement ----------------------------------------------------------------


def run(
    root: Path,
    *,
    procedures: int = SEEDED,
    rounds: int = 16,
    inproc_rounds: int = 5,
    budget_s: float = 20.0,
) -> dict[str, Any]:
    """Seed, measure in process then over HTTP. Each of the two measurements runs up to its
    rounds, but starts no new round after `budget_s` (it always completes one)."""
    from minhbach_testing.harness import BIN
    from minhbach_testing.plugin import RedisServer, ServiceProcess, free_port, shared_dir

    data = shared_dir() / "data"
    samples = json.loads((data / "procedures-sample.json").read_text(encoding="utf-8"))["procedures"]
    cases = json.loads((data / "search-cases.json").read_text(encoding="utf-8"))["cases"]
    plan = queries(cases, samples)
    database_url = f"sqlite:///{root / 'procedures.db'}"
    redis = RedisServer(port=free_port(), dir=root / "redis")
    api: ServiceProcess | None = None
    try:
        redis.start()
        client = redis.client()
        print(f"search: seeding {procedures} + {len(samples)} procedures ...", file=sys.stderr, flush=True)
        seed_s = seed(database_url, client, samples, procedures)
        client.close()

        print(f"search: in process, FTS5 and LIKE-scan x{inproc_rounds} ...", file=sys.stderr, flush=True)
        local = in_process(database_url, plan, rounds=inproc_rounds, budget_s=budget_s)

        port = free_port()
        api = ServiceProcess(
            name="bench-search-api",
            argv=[
                str(BIN / "uvicorn"),
                "--factory",
                "procedures.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            env={
                "PROCEDURES_DATABASE_URL": database_url,
                "MB_REDIS_URL": redis.url,
                "MB_ENVIRONMENT": "test",
                "MB_LOG_JSON": "true",
            },
            log_path=root / "logs" / "bench-search-api.log",
            health_url=f"http://127.0.0.1:{port}/healthz",
        ).start()
        print(f"search: over HTTP x{rounds} ...", file=sys.stderr, flush=True)
        remote = over_http(f"http://127.0.0.1:{port}", plan, rounds=rounds, budget_s=budget_s)
    except BaseException:
        if api is not None:
            print(f"--- bench-search-api\n{api.tail(30)}", file=sys.stderr)
        raise
    finally:
        if api is not None:
            api.stop()
        redis.stop()

    mismatched = {k: (v, remote["totals"].get(k)) for k, v in local["fts5"]["totals"].items()}
    mismatched = {k: v for k, v in mismatched.items() if v[0] != v[1]}
    if mismatched:
        raise RuntimeError(f"HTTP and in-process FTS5 totals differ: {mismatched}")
    no_hit = f"{NO_HIT}#1"
    if local["fts5"]["totals"][no_hit] or local["like_scan"]["totals"][no_hit]:
        raise RuntimeError(f"the no-hit query {NO_HIT!r} found something")
    return {
        "procedures": procedures + len(samples),
        "page_size": PAGE_SIZE,
        "queries": [{"kind": q.kind, "q": q.q, "page": q.page} for q in plan],
        "seed_s": round(seed_s, 1),
        "config": {"rounds": rounds, "inproc_rounds": inproc_rounds, "budget_s": budget_s},
        "in_process": local,
        "http_fts5": remote,
    }


def compared(title: str, columns: str, paths: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """Table lines: per query kind and overall, "p50/p99" of each path side by side."""

    def cells(stats: Sequence[dict[str, Any]]) -> str:
        return " | ".join(f"{s['p50_ms']:.1f}/{s['p99_ms']:.1f}" for s in stats)

    lines = [(title, columns)]
    lines += [(f"  {kind}", cells([p["by_kind"][kind] for p in paths])) for kind in paths[0]["by_kind"]]
    lines.append(("  overall", cells([p["overall"] for p in paths])))
    return lines


def table_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """Lines for bench.run's table."""
    fts, like = result["in_process"]["fts5"], result["in_process"]["like_scan"]
    http = result["http_fts5"]
    found = compared(
        f"search @{result['procedures']}: kind (p50/p99 ms)", "FTS5 | LIKE-scan | HTTP", [fts, like, http]
    )
    found.append(
        (
            "  measured: HTTP / in process (per path)",
            f"{http['overall']['n']} in {http['seconds']:.0f} s / "
            f"{fts['overall']['n']} in {result['in_process']['seconds']:.0f} s",
        )
    )
    if http["rounds"] < result["config"]["rounds"]:
        found.append(("  (time budget cut the rounds short)", f"{result['config']['budget_s']:.0f} s each"))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=SEEDED)
    parser.add_argument("--rounds", type=int, default=16, help="HTTP rounds over every query (default 16)")
    parser.add_argument("--inproc-rounds", type=int, default=5, help="in-process rounds per path (default 5)")
    parser.add_argument("--budget-s", type=float, default=20.0, help="no new round after this (default 20)")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="mb-bench-search-"))
    try:
        result = run(
            root,
            procedures=args.procedures,
            rounds=args.rounds,
            inproc_rounds=args.inproc_rounds,
            budget_s=args.budget_s,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for key, value in table_rows(result):
        print(f"{key:<45} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
