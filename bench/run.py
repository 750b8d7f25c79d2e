"""`make bench`: change-to-portal latency beside a no-op Celery round trip, same Redis, same run.

Starts a redis-server and the whole system from the Procfile (minhbach_testing.harness.System) in a
temporary directory, then measures:

1. the no-op Celery round trip (bench.noop): publish a task, a worker runs it, the task
   LPUSHes a token the client BLPOPs;
2. change-to-portal latency: one procedure amended by one decision, from just before the
   publish POST until the procedure's page file in NOTIFIER_PORTAL_DIR carries the new
   version marker (the file the notifier serves under /portal/);
   and change-to-dvc latency of the same changes: until the dvc stand-in receiver (the
   external online public service portal) accepted the signed webhook of that version
   (its `received_at`, against the wall clock just before the publish POST);
3. a burst: one decision amending many procedures, the time until every page shows its
   new version and how many portal channel runs and ingest tasks it took;
4. public search at 10,000 procedures (bench.search, after the system is stopped): FTS5
   against the portable LIKE-scan in process on the same data, and GET /v1/procedures
   over HTTP; then, where PostgreSQL server binaries are installed, the same queries on
   PostgreSQL with and without the pg_trgm indexes (bench.search_postgres; a printed
   note and a skip otherwise). `--skip-search` leaves both out;
5. sustained load (bench.load, on the running system, after the console's pages): decisions
   of amendments published at a steady rate, each change timed to the portal, the centre and
   the dvc stand-in, beside a no-op task rate (`--skip-load`);
6. concurrent public search (bench.search_load, after the search sections): many clients
   searching one procedures API at 10,000 procedures, and a writer's publish latency with
   and without them (`--skip-search-load`).

Prints a table, writes bench/results/latest.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import run_and_save
from minhbach_shared.auth import Role
from minhbach_testing.harness import BIN, System, today_in_vietnam
from minhbach_testing.plugin import REPO_ROOT, RedisServer, ServiceProcess, free_port, shared_dir

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
RUNS_KEY = "mb:notifier:channel-runs"  # notifier.broker.RUNS_KEY
RELAY_BATCH = 200  # OutboxRelay.batch_size
VERSION_META = re.compile(rb'<meta name="mb:version" content="(\d+)">')

# The harness runs the backstops fast so tests finish quickly; a benchmark should see the
# shipped defaults (notifier/procedures settings), or reconcile every 3 s is part of the noise.
SHIPPED_TIMINGS = {
    "NOTIFIER_PUMP_INTERVAL_S": "5",
    "NOTIFIER_RECONCILE_INTERVAL_S": "60",
    "NOTIFIER_RETRY_BASE_S": "2",
    "PROCEDURES_APPLY_DUE_EVERY_S": "15",
}


class BenchError(RuntimeError):
    pass


# -- numbers ------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of milliseconds."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(rank) - 1]


def summary(values_ms: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "p50_ms": round(percentile(values_ms, 50), 2),
        "p90_ms": round(percentile(values_ms, 90), 2),
        "p99_ms": round(percentile(values_ms, 99), 2),
        "max_ms": round(max(values_ms), 2),
        "mean_ms": round(statistics.fmean(values_ms), 2),
    }


def ms(seconds: float) -> float:
    return seconds * 1000.0


# -- the no-op Celery round trip ----------------------------------------------------------


def start_noop_worker(system: System, root: Path, pool: str) -> ServiceProcess:
    from bench.noop import QUEUE

    env = {
        **system.env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    argv = [str(BIN / "celery"), "-A", "bench.noop", "worker", "-Q", QUEUE, "--pool", pool, "-n", "noop@%h"]
    if pool != "solo":
        argv += ["--concurrency", "1"]
    argv += ["--loglevel", "WARNING"]
    return ServiceProcess(
        name="bench-noop", argv=argv, env=env, log_path=root / "logs" / "bench-noop.log"
    ).start()


def measure_noop(redis_url: str, worker: ServiceProcess, *, n: int, warmup: int) -> list[float]:
    import redis as redis_lib

    from bench.noop import DONE_KEY, QUEUE, TASK, create_app

    app = create_app(redis_url)
    client = redis_lib.Redis.from_url(redis_url)
    client.delete(DONE_KEY)
    # The first task waits in the queue until the worker is up.
    app.send_task(TASK, args=["ready"], queue=QUEUE)
    deadline = time.monotonic() + 60
    while client.blpop([DONE_KEY], timeout=1) is None:
        worker.assert_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"the no-op worker never ran a task; log:\n{worker.tail()}")
    samples: list[float] = []
    for i in range(warmup + n):
        token = str(i)
        t0 = time.perf_counter()
        app.send_task(TASK, args=[token], queue=QUEUE)
        got = client.blpop([DONE_KEY], timeout=10)
        t1 = time.perf_counter()
        if got is None or got[1].decode() != token:
            raise BenchError(f"no-op round trip {i} lost or out of order: {got!r}")
        if i >= warmup:
            samples.append(ms(t1 - t0))
    client.close()
    return samples


# -- talking to the system ----------------------------------------------------------------


class Api:
    """One keep-alive client to the procedures API, with an editor's and an approver's token."""

    def __init__(self, system: System) -> None:
        self.http = httpx.Client(base_url=system.procedures_url, timeout=30)
        self.editor = system.token(Role.EDITOR)
        self.approver = system.token(Role.APPROVER)
        self.decisions = 0

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def _ok(response: httpx.Response, status: int) -> dict[str, Any]:
        if response.status_code != status:
            raise BenchError(
                f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
            )
        return dict(response.json())

    def create_procedure(self, body: dict[str, Any]) -> None:
        self._ok(self.http.post("/v1/procedures", json=body, headers=self.editor), 201)

    def set_processing_time(self, code: str, value: int) -> None:
        body = {"processing_time": {"value": value, "unit": "working_days"}}
        self._ok(self.http.patch(f"/v1/procedures/{code}", json=body, headers=self.editor), 200)

    def create_decision(self, action: str, codes: Iterable[str]) -> int:
        """Draft and submit a decision (the editor), ready for the approver; its id."""
        self.decisions += 1
        number = f"{self.decisions}/QĐ-BENCH"
        today = today_in_vietnam()
        body = {
            "number": number,
            "title": f"Công bố thủ tục hành chính ({number})",
            "issuer": "Sở Xây dựng tỉnh Thái Bình",
            "signed_on": today,
            "effective_on": today,
            "changes": [{"action": action, "procedure_code": c} for c in codes],
        }
        created = self._ok(self.http.post("/v1/decisions", json=body, headers=self.editor), 201)
        decision_id = int(created["id"])
        # Submitted here, before the clock starts: what is timed is the approver's publish.
        self._ok(self.http.post(f"/v1/decisions/{decision_id}/submit", headers=self.editor), 200)
        return decision_id

    def publish(self, decision_id: int) -> None:
        published = self._ok(
            self.http.post(f"/v1/decisions/{decision_id}/publish", headers=self.approver), 200
        )
        if published["status"] != "in_effect":
            raise BenchError(f"decision {decision_id} is {published['status']}, not in effect")


class Portal:
    """Watches the portal's files: a page is shown when its file carries the version marker."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def page(self, code: str) -> Path:
        return self.root / "thu-tuc" / f"{code}.html"

    @staticmethod
    def version(path: Path) -> int | None:
        try:
            match = VERSION_META.search(path.read_bytes())
        except FileNotFoundError:
            return None
        return int(match.group(1)) if match else None

    def wait(self, expected: dict[str, int], *, timeout: float = 60.0) -> dict[str, float]:
        """perf_counter() at which each code's page first showed at least its expected version."""
        return wait_pages({"": self}, expected, timeout=timeout)[""]

    def wait_idle(self) -> float:
        """Block until no portal channel run holds the portal lock; perf_counter() after."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            fcntl.flock(lock, fcntl.LOCK_UN)
        return time.perf_counter()


def wait_pages(
    watched: dict[str, Portal], expected: dict[str, int], *, timeout: float = 60.0, poll_s: float = 0.001
) -> dict[str, dict[str, float]]:
    """Per channel, perf_counter() at which each code's page first showed its expected version.

    Every channel is watched in the same loop, so one channel's wait never delays noticing
    another's. Polls os.stat every `poll_s` and reads a file only when it was replaced
    (pages are written to a temporary file and renamed: a new inode means a new page).
    """
    pending = {(name, code): w.page(code) for name, w in watched.items() for code in expected}
    seen: dict[tuple[str, str], tuple[int, int, int]] = {}
    shown: dict[str, dict[str, float]] = {name: {} for name in watched}
    deadline = time.perf_counter() + timeout
    while pending:
        for key, path in list(pending.items()):
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            signature = (st.st_ino, st.st_mtime_ns, st.st_size)
            if seen.get(key) == signature:
                continue
            seen[key] = signature
            version = Portal.version(path)
            if version is not None and version >= expected[key[1]]:
                shown[key[0]][key[1]] = time.perf_counter()
                del pending[key]
        if not pending:
            break
        if time.perf_counter() > deadline:
            sample = sorted(pending)[:5]
            raise BenchError(f"{len(pending)} page(s) never showed their new version, e.g. {sample}")
        time.sleep(poll_s)
    return shown


def measure_owner_fetch(system: System, codes: Sequence[str], *, rounds: int = 3) -> dict[str, Any]:
    """What the notifier's ingest pays to fetch a burst's states from the procedures API:
    the notifier's own clients, one GET per subject against one POST /v1/sync/states,
    alternating in the same run (median of `rounds`)."""
    from minhbach_shared.events import Subject
    from minhbach_shared.observability import http_client
    from notifier.owners import OWNER_PATHS, BatchHttpOwner

    subjects = [Subject(kind="procedure", id=code) for code in codes]  # type: ignore[arg-type]
    owner = BatchHttpOwner(http_client(system.procedures_url, timeout_s=30), OWNER_PATHS["procedures"])
    single: list[float] = []
    batch: list[float] = []
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            one_by_one = [owner.fetch(s) for s in subjects]
            single.append(ms(time.perf_counter() - t0))
            t0 = time.perf_counter()
            together = owner.fetch_many(subjects)
            batch.append(ms(time.perf_counter() - t0))
            if together != one_by_one:
                raise BenchError("the batch answered other states than the single GETs")
    finally:
        owner.close()
    return {
        "subjects": len(subjects),
        "one_by_one_ms": round(percentile(single, 50), 1),
        "batch_ms": round(percentile(batch, 50), 1),
        "rounds": rounds,
    }


def sample_procedures() -> list[dict[str, Any]]:
    data = json.loads((shared_dir() / "data" / "procedures-sample.json").read_text(encoding="utf-8"))
    return list(data["procedures"])


@dataclass
class Bench:
    system: System
    api: Api
    portal: Portal
    center: Portal  # the service centre's notices: thu-tuc/<code>.html under NOTIFIER_CENTER_DIR
    redis: Any

    def channel_runs(self) -> int:
        return int(self.redis.hget(RUNS_KEY, "portal") or 0)

    def relayed(self) -> tuple[int, int]:
        """(events, messages) the procedures relay has sent so far, from its log.

        One message (one notifier.ingest task) carries up to RELAY_BATCH envelopes; a drain
        logs its total, so messages are counted as ceil(events / RELAY_BATCH) per drain.
        (The notifier's workers would be the better witness, but they log nothing: see README.)
        """
        events = messages = 0
        log = self.system.root / "logs" / "procedures-relay.log"
        for line in log.read_text(errors="replace").splitlines():
            if '"outbox relayed"' not in line:
                continue
            try:
                n = int(json.loads(line).get("events") or 0)
            except ValueError:
                continue
            events += n
            messages += -(-n // RELAY_BATCH)
        return events, messages


def seed(bench: Bench, codes: Sequence[str], samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Create the procedures, put them in force with one decision, wait for every page."""
    for i, code in enumerate(codes):
        body = copy.deepcopy(samples[i % len(samples)])
        body["code"] = code
        body["name"] = f"{body['name']} ({code})"
        bench.api.create_procedure(body)
    return burst(bench, "new", codes, {code: 1 for code in codes})


def burst(bench: Bench, action: str, codes: Sequence[str], expected: dict[str, int]) -> dict[str, Any]:
    """One decision changing every code; time until every page shows its expected version."""
    api, portal = bench.api, bench.portal
    portal.wait_idle()
    decision = api.create_decision(action, codes)
    runs_before, relayed_before = bench.channel_runs(), bench.relayed()
    t0 = time.perf_counter()
    api.publish(decision)
    published = time.perf_counter()
    seen = wait_pages({"portal": portal, "center": bench.center}, expected, timeout=120)
    shown = seen["portal"]
    runs_at_all = bench.channel_runs()
    idle = portal.wait_idle()
    time.sleep(0.3)  # let a trailing run (flag set during the last one) start, then finish
    portal.wait_idle()
    bench.center.wait_idle()
    relayed = bench.relayed()
    return {
        "action": action,
        "size": len(codes),
        "publish_ms": round(ms(published - t0), 2),
        "first_shown_ms": round(ms(min(shown.values()) - t0), 2),
        "all_shown_ms": round(ms(max(shown.values()) - t0), 2),
        "center_all_shown_ms": round(ms(max(seen["center"].values()) - t0), 2),
        "idle_ms": round(ms(idle - t0), 2),
        "channel_runs_to_all_shown": runs_at_all - runs_before,
        "channel_runs_total": bench.channel_runs() - runs_before,
        "relayed_events": relayed[0] - relayed_before[0],
        "ingest_tasks": relayed[1] - relayed_before[1],
    }


def sequential_changes(bench: Bench, codes: Sequence[str], *, n: int, warmup: int) -> dict[str, Any]:
    """`n` single-procedure amendments one after another, each on an idle system."""
    api, portal = bench.api, bench.portal
    versions = {code: 1 for code in codes}
    latency: list[float] = []
    center: list[float] = []
    every: list[float] = []
    publish: list[float] = []
    tail: list[float] = []
    # webhook-id -> wall clock just before its publish (the stand-in stamps wall clock too).
    dvc_started: dict[str, float] = {}
    for i in range(warmup + n):
        code = codes[i % len(codes)]
        api.set_processing_time(code, 1000 + i)
        decision = api.create_decision("amend", [code])
        versions[code] += 1
        if i >= warmup:
            dvc_started[f"mb_procedure_{code}_v{versions[code]}"] = time.time()
        t0 = time.perf_counter()
        api.publish(decision)
        published = time.perf_counter()
        seen = wait_pages({"portal": portal, "center": bench.center}, {code: versions[code]}, timeout=30)
        shown = seen["portal"][code]
        idle = portal.wait_idle()  # the run also renders indexes and commits; wait it out
        bench.center.wait_idle()
        if i >= warmup:
            latency.append(ms(shown - t0))
            center.append(ms(seen["center"][code] - t0))
            every.append(ms(max(shown, seen["center"][code]) - t0))
            publish.append(ms(published - t0))
            tail.append(ms(idle - shown))
    quarter = max(1, n // 4)
    return {
        "procedures": len(codes),
        "latency": summary(latency),
        "center_latency": summary(center),
        "every_channel_latency": summary(every),
        "publish_request": summary(publish),
        "run_tail_after_page": summary(tail),
        "first_quarter_p50_ms": round(percentile(latency[:quarter], 50), 2),
        "last_quarter_p50_ms": round(percentile(latency[-quarter:], 50), 2),
        "samples_ms": [round(v, 3) for v in latency],
        "dvc": dvc_latency(bench.system, dvc_started),
    }


class ArticlePages(Portal):
    """The portal's news pages: tin-tuc/<slug>.html, with the same version marker."""

    def page(self, code: str) -> Path:
        return self.root / "tin-tuc" / f"{code}.html"


def article_changes(system: System, portal: Portal, *, n: int, warmup: int) -> dict[str, Any]:
    """Articles approved one after another: from the approver's publish POST to the article's page."""
    editor, approver = system.token(Role.EDITOR), system.token(Role.APPROVER)
    pages = ArticlePages(system.portal_dir)
    latency: list[float] = []
    with httpx.Client(base_url=system.content_url, timeout=30) as http:
        for i in range(warmup + n):
            body = {
                "category": "news",
                "title": f"Tin cải cách hành chính số {i + 1} của Sở Xây dựng",
                "summary": "Bản tin đo thời gian công khai.",
                "body": "Sở Xây dựng **công khai** kết quả cải cách hành chính.",
            }
            created = Api._ok(http.post("/v1/articles", json=body, headers=editor), 201)
            Api._ok(http.post(f"/v1/articles/{created['id']}/submit", headers=editor), 200)
            portal.wait_idle()
            t0 = time.perf_counter()
            Api._ok(http.post(f"/v1/articles/{created['id']}/publish", json={}, headers=approver), 200)
            shown = wait_pages({"portal": pages}, {created["slug"]: 1}, timeout=30)["portal"]
            if i >= warmup:
                latency.append(ms(shown[created["slug"]] - t0))
    return summary(latency)


def dvc_latency(system: System, started: dict[str, float], *, timeout: float = 60.0) -> dict[str, Any]:
    """From the publish POST to the dvc stand-in accepting that version's webhook."""
    path = Path(system.env["DVC_STANDIN_FILE"])
    deadline = time.monotonic() + timeout
    received: dict[str, float] = {}
    while True:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        for line in lines:
            item = json.loads(line)
            if item["id"] in started:
                received[item["id"]] = datetime.fromisoformat(item["received_at"]).timestamp()
        if len(received) == len(started) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if len(received) < len(started):
        raise BenchError(f"{len(started) - len(received)} dvc webhook(s) never arrived")
    return summary([ms(received[i] - started[i]) for i in started])


def check_served(system: System, codes: Sequence[str], portal: Portal) -> None:
    """The notifier serves what the files say (the benchmark watched the files)."""
    with httpx.Client(base_url=system.notifier_url, timeout=10) as http:
        for code in codes:
            page = http.get(f"/portal/thu-tuc/{code}.html")
            match = VERSION_META.search(page.content)
            if (
                page.status_code != 200
                or not match
                or int(match.group(1)) != portal.version(portal.page(code))
            ):
                raise BenchError(f"/portal/thu-tuc/{code}.html is not what the portal directory holds")


# -- report -------------------------------------------------------------------------------


def machine(redis_client: Any) -> dict[str, Any]:
    import celery

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count()
    return {
        "nproc": affinity,
        "cpu_count": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "celery": celery.__version__,
        "redis_server": redis_client.info("server").get("redis_version"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def table(result: dict[str, Any]) -> str:
    noop = result["noop"]
    change = result["change_to_portal"]["latency"]
    ratio = result["ratio"]
    b = result["burst"]
    rows = [
        ("no-op Celery round trip p50", f"{noop['p50_ms']:.2f} ms"),
        ("no-op Celery round trip p99", f"{noop['p99_ms']:.2f} ms"),
        ("change-to-portal p50", f"{change['p50_ms']:.2f} ms"),
        ("change-to-portal p99", f"{change['p99_ms']:.2f} ms"),
        ("change-to-portal max", f"{change['max_ms']:.2f} ms"),
        ("change-to-centre notice p50", f"{result['change_to_portal']['center_latency']['p50_ms']:.2f} ms"),
        ("change-to-centre notice p99", f"{result['change_to_portal']['center_latency']['p99_ms']:.2f} ms"),
        (
            "change-to-every-channel p99",
            f"{result['change_to_portal']['every_channel_latency']['p99_ms']:.2f} ms",
        ),
        ("ratio p50 (change / no-op)", f"{ratio['p50']:.1f}x"),
        ("ratio p99 (change / no-op)", f"{ratio['p99']:.1f}x"),
        ("change-to-dvc p50 (signed webhook)", f"{result['change_to_portal']['dvc']['p50_ms']:.2f} ms"),
        ("change-to-dvc p99", f"{result['change_to_portal']['dvc']['p99_ms']:.2f} ms"),
        ("  of which publish POST p50", f"{result['change_to_portal']['publish_request']['p50_ms']:.2f} ms"),
        ("article approved-to-portal p50", f"{result['article_to_portal']['p50_ms']:.2f} ms"),
        ("article approved-to-portal p99", f"{result['article_to_portal']['p99_ms']:.2f} ms"),
        ("burst size (one amend decision)", f"{b['size']} procedures"),
        ("burst time to all disclosed", f"{b['all_shown_ms']:.0f} ms"),
        ("burst time to all centre notices", f"{b['center_all_shown_ms']:.0f} ms"),
        ("burst first page shown", f"{b['first_shown_ms']:.0f} ms"),
        (
            "channel.portal runs in burst",
            f"{b['channel_runs_to_all_shown']} (total {b['channel_runs_total']})",
        ),
        ("relayed events / ingest tasks", f"{b['relayed_events']} / {b['ingest_tasks']}"),
        (
            f"fetch {result['owner_fetch']['subjects']} states: GET each / batch",
            f"{result['owner_fetch']['one_by_one_ms']:.0f} / {result['owner_fetch']['batch_ms']:.0f} ms",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    vwidth = max(len(v) for _, v in rows)
    m = result["machine"]
    head = (
        f"Minh Bạch bench — {result['timestamp']} — {m['nproc']} cpu, Python {m['python']}, "
        f"redis {m['redis_server']}, load {m['loadavg_at_start'][0]:.2f} -> {m['loadavg_at_end'][0]:.2f}\n"
        f"no-op: {noop['n']} round trips ({result['config']['noop_pool']} pool); "
        f"change-to-portal: {change['n']} changes over {result['change_to_portal']['procedures']} procedures"
    )
    if result.get("console"):
        from bench import console

        rows += console.table_rows(result["console"])
    if result.get("load"):
        from bench import load

        rows += load.table_rows(result["load"])
        rows += load.seed_rows(result["load"].get("seed") or {})
    if result.get("search"):
        from bench.search import table_rows

        rows += table_rows(result["search"])
    if result.get("search_postgres"):
        from bench import search_postgres

        rows += search_postgres.table_rows(result["search_postgres"])
    if result.get("search_load"):
        from bench import search_load

        rows += search_load.table_rows(result["search_load"])
    width = max(len(k) for k, _ in rows)
    vwidth = max(len(v) for _, v in rows)
    line = "-" * (width + vwidth + 3)
    body = "\n".join(f"{k:<{width}}   {v:>{vwidth}}" for k, v in rows)
    return f"{head}\n{line}\n{body}\n{line}"


# -- main ---------------------------------------------------------------------------------


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    started = time.monotonic()
    redis = RedisServer(port=free_port(), dir=root / "redis")
    system: System | None = None
    noop_worker: ServiceProcess | None = None
    api: Api | None = None
    try:
        redis.start()
        redis_client = redis.client()
        info = machine(redis_client)
        print(f"starting the system in {root} ...", file=sys.stderr, flush=True)
        system = System(root=root, redis=redis, overrides=SHIPPED_TIMINGS).start()
        noop_worker = start_noop_worker(system, root, args.noop_pool)
        portal = Portal(system.portal_dir)
        api = Api(system)
        bench = Bench(
            system=system, api=api, portal=portal, center=Portal(system.center_dir), redis=redis_client
        )
        samples = sample_procedures()

        print("seeding ...", file=sys.stderr, flush=True)
        codes = [f"BENCH.P.{i:03d}" for i in range(args.procedures)]
        seeded = seed(bench, codes, samples)

        print(f"no-op round trips x{args.noop} ...", file=sys.stderr, flush=True)
        noop = summary(measure_noop(redis.url, noop_worker, n=args.noop, warmup=args.warmup))

        print(f"change-to-portal x{args.changes} ...", file=sys.stderr, flush=True)
        change = sequential_changes(bench, codes, n=args.changes, warmup=args.warmup)
        check_served(system, codes, portal)

        print(f"article-to-portal x{args.articles} ...", file=sys.stderr, flush=True)
        articles = article_changes(system, portal, n=args.articles, warmup=args.warmup)

        print(f"burst of {args.burst} ...", file=sys.stderr, flush=True)
        burst_codes = [f"BENCH.B.{i:03d}" for i in range(args.burst)]
        burst_new = seed(bench, burst_codes, samples)
        for i, code in enumerate(burst_codes):
            api.set_processing_time(code, 5000 + i)
        burst_amend = burst(bench, "amend", burst_codes, {code: 2 for code in burst_codes})
        check_served(system, burst_codes[:: max(1, len(burst_codes) // 10)], portal)
        print("owner fetch: one GET each vs one batch ...", file=sys.stderr, flush=True)
        owner_fetch = measure_owner_fetch(system, burst_codes)

        from bench import console

        catalogue = len(codes) + len(burst_codes)
        if args.console_procedures > catalogue:
            print(f"catalogue to {args.console_procedures} for the console ...", file=sys.stderr, flush=True)
            more = [f"BENCH.C.{i:04d}" for i in range(args.console_procedures - catalogue)]
            seed(bench, more, samples)
            catalogue += len(more)
        print(f"console pages x{args.console_requests} ...", file=sys.stderr, flush=True)
        console_pages = console.measure(
            system, codes[0], requests=args.console_requests, warmup=args.warmup, procedures=catalogue
        )

        load_result: dict[str, Any] | None = None
        if not args.skip_load:
            from bench import load

            watcher = load.Watcher(
                system.portal_dir, system.center_dir, Path(system.env["DVC_STANDIN_FILE"])
            ).start()
            try:
                if args.load_catalogue > catalogue:
                    print(f"catalogue to {args.load_catalogue} for the load ...", file=sys.stderr, flush=True)
                    load_seed = load.seed(system, watcher, args.load_catalogue, timeout=300)
                else:
                    load_seed = None
                # The services' workers are prefork, concurrency 1: the rate's baseline is one too.
                noop_worker.stop()
                noop_worker = start_noop_worker(system, root, "prefork")
                print(f"no-op task rate x{args.load_noop_tasks} ...", file=sys.stderr, flush=True)
                noop_rate = load.noop_rate(redis.url, noop_worker, tasks=args.load_noop_tasks)
                load_result = load.measure(
                    system,
                    rate_per_s=args.load_rate,
                    duration_s=args.load_duration,
                    batch=args.load_batch,
                    clients=args.load_clients,
                    drain_s=args.load_drain_s,
                    noop=noop_rate,
                    watcher=watcher,
                )
                load_result["seed"] = load_seed
            finally:
                watcher.stop()

        latency = change["latency"]
        result = {
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": info,
            "config": {
                "noop_round_trips": args.noop,
                "noop_pool": args.noop_pool,
                "changes": args.changes,
                "articles": args.articles,
                "procedures": args.procedures,
                "burst": args.burst,
                "warmup": args.warmup,
                "detection": "os.stat poll of NOTIFIER_PORTAL_DIR/thu-tuc/{code}.html every 1 ms",
                "timings": SHIPPED_TIMINGS,
                "search": None
                if args.skip_search
                else {
                    "rounds": args.search_rounds,
                    "budget_s": args.search_budget_s,
                    "postgres_rounds": args.search_pg_rounds,
                    "postgres_budget_s": args.search_pg_budget_s,
                },
            },
            "noop": noop,
            "change_to_portal": change,
            "article_to_portal": articles,
            "ratio": {
                "p50": round(latency["p50_ms"] / noop["p50_ms"], 2),
                "p99": round(latency["p99_ms"] / noop["p99_ms"], 2),
            },
            "burst": burst_amend,
            "owner_fetch": owner_fetch,
            "console": console_pages,
            "load": load_result,
            "burst_new": burst_new,
            "seed": seeded,
        }
    except BaseException:
        if system is not None:
            print(system.logs(), file=sys.stderr)
        if noop_worker is not None:
            print(f"--- bench-noop\n{noop_worker.tail(30)}", file=sys.stderr)
        raise
    finally:
        if api is not None:
            api.close()
        if noop_worker is not None:
            noop_worker.stop()
        if system is not None:
            system.stop()
        redis.stop()

    if not args.skip_search:
        from bench import search

        result["search"] = search.run(
            root / "search", rounds=args.search_rounds, budget_s=args.search_budget_s
        )
        # Only where PostgreSQL server binaries are installed; otherwise a note and a skip.
        from bench import search_postgres

        result["search_postgres"] = search_postgres.run(
            root / "search-pg", rounds=args.search_pg_rounds, budget_s=args.search_pg_budget_s
        )
    if not args.skip_search and not args.skip_search_load:
        from bench import search_load

        result["search_load"] = search_load.run(
            root / "search-load",
            catalogue=args.search_load_catalogue,
            clients=args.search_load_clients,
            duration_s=args.search_load_duration,
            writer_rate=args.search_load_writer_rate,
        )
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["runtime_s"] = round(time.monotonic() - started, 1)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200, help="sequential changes measured (default 200)")
    parser.add_argument("--articles", type=int, default=50, help="articles approved and timed (default 50)")
    parser.add_argument("--procedures", type=int, default=20, help="procedures they rotate over (default 20)")
    parser.add_argument("--noop", type=int, default=300, help="no-op round trips measured (default 300)")
    parser.add_argument(
        "--burst", type=int, default=200, help="procedures in the burst decision (default 200)"
    )
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured warm-up iterations (default 10)")
    parser.add_argument("--noop-pool", default="solo", choices=["solo", "prefork"], help="no-op worker pool")
    parser.add_argument("--skip-search", action="store_true", help="leave out the search benchmark")
    parser.add_argument(
        "--console-procedures",
        type=int,
        default=1000,
        help="procedures in force when the console's pages are timed (default 1000)",
    )
    parser.add_argument("--console-requests", type=int, default=50, help="timed requests per console page")
    parser.add_argument(
        "--search-rounds", type=int, default=16, help="HTTP rounds over the search queries (default 16)"
    )
    parser.add_argument(
        "--search-budget-s",
        type=float,
        default=20.0,
        help="no new search round after this many seconds, in process and over HTTP (default 20)",
    )
    parser.add_argument(
        "--search-pg-rounds",
        type=int,
        default=5,
        help="PostgreSQL search rounds, with and without the trigram indexes (default 5)",
    )
    parser.add_argument(
        "--search-pg-budget-s",
        type=float,
        default=60.0,
        help="no new PostgreSQL search round after this many seconds (default 60)",
    )
    parser.add_argument("--skip-load", action="store_true", help="leave out the sustained load (bench.load)")
    parser.add_argument(
        "--load-catalogue",
        type=int,
        default=1000,
        help="procedures in force during the load (default 1000: the console's catalogue)",
    )
    from bench import load

    load.add_options(parser, prefix="load-")
    parser.add_argument(
        "--skip-search-load", action="store_true", help="leave out the concurrent search (bench.search_load)"
    )
    parser.add_argument("--search-load-catalogue", type=int, default=10_000, help="procedures (10000)")
    parser.add_argument("--search-load-clients", type=int, default=50, help="concurrent search clients (50)")
    parser.add_argument("--search-load-duration", type=float, default=10.0, help="seconds a phase (10)")
    parser.add_argument(
        "--search-load-writer-rate", type=float, default=2.0, help="writer's decisions a second (2)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, portal)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)

    result = run_and_save(run, args, repo_root=REPO_ROOT, prefix="mb-bench-")
    if result is None:
        return 130
    print(table(result))
    print(f"({result['runtime_s']} s; JSON in {args.output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
