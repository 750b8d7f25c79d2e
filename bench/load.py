"""Sustained load: decisions of amendments published at a steady rate, each change timed to every channel.

On the whole system as `make up` runs it (minhbach_testing.harness.System with APP_PROCESSES
and the shipped periodic intervals, bench.run.SHIPPED_TIMINGS):

1. a catalogue of `--catalogue` procedures in force: their drafts bulk-inserted into the
   procedures database as POST /v1/procedures leaves them (status draft, version 0), then
   put in force through the system, by decisions of up to 1,000 `new` changes each (the
   API's limit), every one disclosed by the notifier on the portal, the service centre and
   the dvc stand-in before the load starts; each seeding decision is timed to every channel;
2. a no-op Celery task rate on the same Redis: K tasks sent at once, one prefork worker
   (concurrency 1, as the services run theirs), time until the last one ran;
3. the load: every amendment's draft edited (PATCH) and its decision (`--batch` changes)
   created and submitted before the clock starts; then decisions are published at
   `--rate / --batch` per second for `--duration` seconds from a pool of `--clients`
   concurrent keep-alive clients (asyncio + httpx; each publish starts at its scheduled
   time, so a slow request does not hold the next one back). Each change is timed from
   just before its decision's publish POST to its procedure page on the portal showing the
   new version, to the centre notice showing it, and to the dvc stand-in having accepted
   that version's webhook. Then up to `--drain-s` seconds for what is still on its way.

`--profile DIR` records the notifier's workers (events, portal, centre, dvc) and the
procedures API with py-spy during the load and prints the top functions of each.

`python -m bench.load` runs it alone (results in bench/results/load.json); `make bench`
runs `measure` on its own system at the end (results under "load" in latest.json).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import run_and_save
from bench.run import (
    RUNS_KEY,
    SHIPPED_TIMINGS,
    VERSION_META,
    Api,
    BenchError,
    machine,
    ms,
    percentile,
    sample_procedures,
    start_noop_worker,
    summary,
)
from minhbach_shared.auth import Role
from minhbach_testing.harness import BIN, System
from minhbach_testing.plugin import REPO_ROOT, RedisServer, ServiceProcess, free_port

RESULTS = Path(__file__).resolve().parent / "results" / "load.json"
CHANNELS = ("portal", "center", "dvc")
MAX_DECISION = 1000  # schemas.Changes: a decision holds at most 1,000 changes
PROFILED = (
    "notifier-events",
    "notifier-maintenance",
    "notifier-portal",
    "notifier-center",
    "notifier-dvc",
    "procedures",
)


# -- pure helpers -------------------------------------------------------------------------


def schedule(n: int, per_second: float) -> list[float]:
    """Offsets (s) from the start at which the n publishes are due: evenly spaced."""
    return [k / per_second for k in range(n)]


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else float("nan")


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def stats(values_ms: Sequence[float]) -> dict[str, float] | None:
    return summary(values_ms) if values_ms else None


# -- the catalogue ------------------------------------------------------------------------


def insert_drafts(database_url: str, codes: Sequence[str], samples: Sequence[dict[str, Any]]) -> float:
    """The drafts, as POST /v1/procedures writes them (repository.add_procedure), in one
    transaction; names, fields and agencies recombined as bench.search seeds them. Seconds."""
    from sqlalchemy import insert

    from bench.search import seeded_content
    from minhbach_shared.db import make_engine
    from procedures import schemas
    from procedures.db import procedures

    t0 = time.perf_counter()
    now = datetime.now(UTC)
    rows = []
    for i, code in enumerate(codes):
        body = {**seeded_content(i, samples), "code": code}
        content = schemas.ProcedureCreate.model_validate(body).content()  # what the API would keep
        rows.append(
            {
                "code": code,
                "status": "draft",
                "version": 0,
                "published": None,
                "draft": content,
                "name": content.get("name") or code,
                "field": content.get("field"),
                "drafted_by": "bench-load",
                "edited_by": "bench-load",
                "edited_at": now,
                "written_by": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(procedures), rows)
    finally:
        engine.dispose()
    return time.perf_counter() - t0


def in_force(database_url: str) -> list[str]:
    """Codes of the procedures in force, in order."""
    from sqlalchemy import select

    from minhbach_shared.db import make_engine
    from procedures.db import procedures

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                select(procedures.c.code).where(procedures.c.status == "in_force").order_by(procedures.c.id)
            )
            return [str(code) for code in found.scalars()]
    finally:
        engine.dispose()


# -- watching the channels ----------------------------------------------------------------


@dataclass
class Watcher:
    """One thread watching every channel for every change registered with `expect`.

    Portal and centre: os.stat of each pending page every `poll_s` (more when many are
    pending: the loop sleeps at least three times as long as one pass took, so it never
    takes more than a quarter of a core: with 2,000 pages pending a pass takes ~10 ms, the
    resolution is then ~40 ms), the file read only when replaced, until its mb:version marker
    reaches the version. dvc: the stand-in's JSON-lines file (DVC_STANDIN_FILE), read
    incrementally, `received_at` (wall clock) of the version's webhook id.
    perf_counter() of each detection; the dvc's as wall clock.
    """

    portal_dir: Path
    center_dir: Path
    dvc_file: Path
    poll_s: float = 0.002
    inbox: queue.SimpleQueue[tuple[str, int]] = field(default_factory=queue.SimpleQueue)
    shown: dict[str, dict[tuple[str, int], float]] = field(
        default_factory=lambda: {channel: {} for channel in CHANNELS}
    )
    pending: dict[str, dict[tuple[str, int], Path | None]] = field(
        default_factory=lambda: {channel: {} for channel in CHANNELS}
    )
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _dvc_offset: int = 0
    _dvc_rest: bytes = b""
    _dvc_seen: set[str] = field(default_factory=set)
    _signatures: dict[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, code: str, version: int) -> None:
        self.inbox.put((code, version))

    def start(self) -> Watcher:
        self._thread = threading.Thread(target=self._loop, name="bench-load-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def outstanding(self) -> dict[str, int]:
        with self._lock:
            return {channel: len(p) for channel, p in self.pending.items()}

    def wait(self, timeout: float) -> bool:
        """Until nothing registered is pending (True) or `timeout` s passed (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while not self.inbox.empty():
                time.sleep(0.01)
            if not any(self.outstanding().values()):
                return True
            time.sleep(0.05)
        return False

    def _loop(self) -> None:
        dirs = {"portal": self.portal_dir / "thu-tuc", "center": self.center_dir / "thu-tuc"}
        last_dvc = 0.0
        while not self._stop.is_set():
            t_pass = time.perf_counter()
            with self._lock:
                while not self.inbox.empty():
                    code, version = self.inbox.get()
                    for channel in CHANNELS:
                        path = dirs[channel] / f"{code}.html" if channel in dirs else None
                        self.pending[channel][(code, version)] = path
                for channel in ("portal", "center"):
                    for key, path in list(self.pending[channel].items()):
                        assert path is not None
                        if self._page_shows(channel, path, key[1]):
                            self.shown[channel][key] = time.perf_counter()
                            del self.pending[channel][key]
                if self.pending["dvc"] and time.perf_counter() - last_dvc > 0.02:
                    last_dvc = time.perf_counter()
                    for webhook_id, received_at in self._dvc_new():
                        code, version = _webhook_key(webhook_id)
                        if (code, version) in self.pending["dvc"]:
                            self.shown["dvc"][(code, version)] = received_at
                            del self.pending["dvc"][(code, version)]
            took = time.perf_counter() - t_pass
            time.sleep(max(self.poll_s, 3 * took))

    def _page_shows(self, channel: str, path: Path, version: int) -> bool:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return False
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        key = (channel, str(path))
        if self._signatures.get(key) == signature:
            return False
        self._signatures[key] = signature
        try:
            match = VERSION_META.search(path.read_bytes())
        except FileNotFoundError:
            return False
        return match is not None and int(match.group(1)) >= version

    def _dvc_new(self) -> list[tuple[str, float]]:
        try:
            with self.dvc_file.open("rb") as handle:
                handle.seek(self._dvc_offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self._dvc_offset += len(data)
        data = self._dvc_rest + data
        lines = data.split(b"\n")
        self._dvc_rest = lines.pop()  # an unfinished last line waits for the next read
        found = []
        for line in lines:
            if line.strip():
                item = json.loads(line)
                found.append((str(item["id"]), datetime.fromisoformat(item["received_at"]).timestamp()))
        return found


def _webhook_key(webhook_id: str) -> tuple[str, int]:
    """mb_procedure_{code}_v{version} -> (code, version); anything else -> ("", 0)."""
    if not webhook_id.startswith("mb_procedure_") or "_v" not in webhook_id:
        return ("", 0)
    code, _, version = webhook_id[len("mb_procedure_") :].rpartition("_v")
    return (code, int(version)) if version.isdigit() else ("", 0)


# -- seeding through the system -----------------------------------------------------------


def seed(system: System, watcher: Watcher, n: int, *, timeout: float) -> dict[str, Any]:
    """Bring the catalogue to n procedures in force: drafts inserted, decisions of up to 1,000
    `new` published one after another, each waited for on every channel."""
    database_url = system.env["PROCEDURES_DATABASE_URL"]
    existing = in_force(database_url)
    missing = max(0, n - len(existing))
    out: dict[str, Any] = {"already_in_force": len(existing), "added": missing, "decisions": []}
    if not missing:
        return out
    start = len(existing)
    codes = [f"LOAD.{i:05d}" for i in range(start, start + missing)]
    out["insert_drafts_s"] = round(insert_drafts(database_url, codes, sample_procedures()), 2)
    api = Api(system)
    api.decisions = 90_000  # numbers apart from bench.run's and prepare's
    try:
        for part in chunks(codes, MAX_DECISION):
            decision = api.create_decision("new", part)
            for code in part:
                watcher.expect(code, 1)
            meter = CpuMeter.of(system).start()
            t0, wall0 = time.perf_counter(), time.time()
            api.publish(decision)
            published = time.perf_counter()
            if not watcher.wait(timeout):
                raise BenchError(f"seeding: still not disclosed after {timeout} s: {watcher.outstanding()}")
            cpu = meter.stop()
            wanted = set(part)
            times = {
                channel: max(
                    (v - (wall0 if channel == "dvc" else t0))
                    for (code, _), v in watcher.shown[channel].items()
                    if code in wanted
                )
                for channel in CHANNELS
            }
            out["decisions"].append(
                {
                    "size": len(part),
                    "catalogue_before": start,
                    "publish_ms": round(ms(published - t0), 1),
                    **{f"{c}_all_ms": round(ms(v), 1) for c, v in times.items()},
                    "every_channel_ms": round(ms(max(times.values())), 1),
                    "cpu": cpu,
                }
            )
            start += len(part)
            shown = {k: v for k, v in out["decisions"][-1].items() if k != "cpu"}
            busiest = ", ".join(f"{name} {sec:g} s" for name, sec in list(cpu["by_process_s"].items())[:4])
            print(
                f"  seeded {start}: {shown}; busy {100 * (cpu['machine_busy'] or 0):.0f} %, {busiest}",
                file=sys.stderr,
                flush=True,
            )
    finally:
        api.close()
    return out


# -- the no-op task rate --------------------------------------------------------------------


def noop_rate(redis_url: str, worker: ServiceProcess, *, tasks: int) -> dict[str, Any]:
    """`tasks` no-op tasks sent at once to one worker; time from the first send until the last ran."""
    import redis as redis_lib

    from bench.noop import DONE_KEY, QUEUE, TASK, create_app

    app = create_app(redis_url)
    client = redis_lib.Redis.from_url(redis_url)
    try:
        client.delete(DONE_KEY)
        app.send_task(TASK, args=["ready"], queue=QUEUE)
        deadline = time.monotonic() + 60
        while client.blpop([DONE_KEY], timeout=1) is None:
            worker.assert_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"the no-op worker never ran a task; log:\n{worker.tail()}")
        t0 = time.perf_counter()
        for i in range(tasks):
            app.send_task(TASK, args=[str(i)], queue=QUEUE)
        sent = time.perf_counter()
        deadline = time.monotonic() + 120
        while client.llen(DONE_KEY) < tasks:
            if time.monotonic() > deadline:
                raise BenchError(f"only {client.llen(DONE_KEY)} of {tasks} no-op tasks ran")
            time.sleep(0.002)
        done = time.perf_counter()
        client.delete(DONE_KEY)
    finally:
        client.close()
    return {
        "tasks": tasks,
        "send_ms": round(ms(sent - t0), 1),
        "all_ran_ms": round(ms(done - t0), 1),
        "per_second": rate(tasks, done - t0),
    }


# -- the load -----------------------------------------------------------------------------


@dataclass
class Offered:
    decision: int
    codes: list[str]
    due: float  # perf_counter() the publish was due
    t0: float = 0.0  # perf_counter() just before the POST
    wall0: float = 0.0  # time.time() just before the POST
    t1: float = 0.0  # perf_counter() the answer came
    status: int = 0


def prepare(system: System, codes: Sequence[str], *, batch: int, workers: int = 4) -> list[Offered]:
    """Every draft amended (processing time) and every decision created and submitted."""
    local = threading.local()
    apis: list[Api] = []
    lock = threading.Lock()

    def api() -> Api:
        if not hasattr(local, "api"):
            local.api = Api(system)
            with lock:
                apis.append(local.api)
                local.api.decisions = 10_000 * len(apis)  # distinct decision numbers per thread
        return local.api  # type: ignore[no-any-return]

    def amend(item: tuple[int, str]) -> None:
        i, code = item
        api().set_processing_time(code, 20_000 + i)

    def decide(part: list[str]) -> Offered:
        return Offered(decision=api().create_decision("amend", part), codes=part, due=0.0)

    try:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(amend, enumerate(codes)))
            return list(pool.map(decide, chunks(codes, batch)))
    finally:
        for a in apis:
            a.close()


async def offer(
    system: System,
    watcher: Watcher,
    offered: list[Offered],
    versions: dict[str, int],
    *,
    per_second: float,
    clients: int,
) -> float:
    """Publish each decision at its due time from a pool of `clients` connections; the start."""
    headers = system.token(Role.APPROVER)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=system.procedures_url, timeout=60, limits=limits) as http:
        # Open the pool's connections before the clock starts.
        await asyncio.gather(*(http.get("/healthz") for _ in range(clients)))
        start = time.perf_counter() + 0.1
        for item, due in zip(offered, schedule(len(offered), per_second), strict=True):
            item.due = start + due

        async def publish(item: Offered) -> None:
            await asyncio.sleep(max(0.0, item.due - time.perf_counter()))
            for code in item.codes:
                watcher.expect(code, versions[code])
            item.wall0, item.t0 = time.time(), time.perf_counter()
            try:
                response = await http.post(f"/v1/decisions/{item.decision}/publish", headers=headers)
                item.status = response.status_code
            except httpx.HTTPError:
                item.status = -1
            item.t1 = time.perf_counter()

        await asyncio.gather(*(publish(item) for item in offered))
    return start


def measure(
    system: System,
    *,
    rate_per_s: float,
    duration_s: float,
    batch: int,
    clients: int,
    drain_s: float,
    noop: dict[str, Any] | None,
    watcher: Watcher | None = None,
    profile_dir: Path | None = None,
    profile_gil: bool = False,
) -> dict[str, Any]:
    """The load on a running system whose catalogue is in force (see the module's doc)."""
    database_url = system.env["PROCEDURES_DATABASE_URL"]
    catalogue = in_force(database_url)
    n_changes = round(rate_per_s * duration_s)
    n_changes -= n_changes % batch
    if n_changes > len(catalogue):
        raise BenchError(
            f"{n_changes} changes need as many procedures in force (one amendment each); "
            f"there are {len(catalogue)}: raise --catalogue or lower --rate/--duration"
        )
    # Spread over the catalogue, so the changes touch every field's lists.
    step = len(catalogue) / n_changes
    codes = [catalogue[int(i * step)] for i in range(n_changes)]
    versions = _versions(database_url, codes)
    print(f"load: preparing {n_changes} amendments in {n_changes // batch} decisions ...", file=sys.stderr)
    t_prep = time.perf_counter()
    offered = prepare(system, codes, batch=batch)
    prep_s = time.perf_counter() - t_prep
    # The seeding wrote ~300 MB of pages at 10,000 (and a bench run just before may have
    # deleted as much): written back to disk now, not by the kernel during the window, where
    # it would compete with the SQLite and Redis writers (a suspect, not a proven cause, of
    # the runs right after another that were 2-7 times slower).
    os.sync()
    owned_watcher = watcher is None
    if watcher is None:
        watcher = Watcher(system.portal_dir, system.center_dir, Path(system.env["DVC_STANDIN_FILE"])).start()
    profilers = start_profilers(system, profile_dir, gil=profile_gil) if profile_dir else {}
    runs_before = channel_runs(system)
    loadavg_before = os.getloadavg()
    meter = CpuMeter.of(system, [proc.pid for proc, _ in profilers.values()]).start()
    print(
        f"load: {rate_per_s:g} changes/s ({rate_per_s / batch:g} decisions/s) for {duration_s:g} s, "
        f"{clients} clients ...",
        file=sys.stderr,
        flush=True,
    )
    try:
        start = asyncio.run(
            offer(system, watcher, offered, versions, per_second=rate_per_s / batch, clients=clients)
        )
        window_end = start + duration_s
        published_all = max(o.t1 for o in offered)
        drained = watcher.wait(drain_s)
        drain_end = time.perf_counter()
        cpu = meter.stop()
        runs_after = channel_runs(system)
        loadavg_after = os.getloadavg()
    finally:
        profiles = stop_profilers(profilers)
        if owned_watcher:
            watcher.stop()
    return report(
        offered,
        watcher,
        versions,
        start=start,
        window_end=window_end,
        published_all=published_all,
        drain_end=drain_end,
        drained=drained,
        config={
            "catalogue": len(catalogue),
            "rate_per_s": rate_per_s,
            "duration_s": duration_s,
            "batch": batch,
            "clients": clients,
            "drain_s": drain_s,
            "changes": n_changes,
            "decisions": len(offered),
            "prepare_s": round(prep_s, 1),
        },
        noop=noop,
        loadavg=[round(loadavg_before[0], 2), round(loadavg_after[0], 2)],
        profiles=profiles,
        cpu=cpu,
        runs={c: runs_after.get(c, 0) - runs_before.get(c, 0) for c in CHANNELS},
    )


def channel_runs(system: System) -> dict[str, int]:
    """Channel runs so far, per channel (the notifier's counter): a burst's changes share runs."""
    counted = system.redis.client().hgetall(RUNS_KEY)
    return {k.decode(): int(v) for k, v in counted.items()}


def _versions(database_url: str, codes: Sequence[str]) -> dict[str, int]:
    """The version each amendment will publish: the one in force + 1."""
    from sqlalchemy import select

    from minhbach_shared.db import make_engine
    from procedures.db import procedures

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(procedures.c.code, procedures.c.version).where(procedures.c.code.in_(list(codes)))
            )
            return {str(code): int(version) + 1 for code, version in rows}
    finally:
        engine.dispose()


def report(
    offered: Sequence[Offered],
    watcher: Watcher,
    versions: dict[str, int],
    *,
    start: float,
    window_end: float,
    published_all: float,
    drain_end: float,
    drained: bool,
    config: dict[str, Any],
    noop: dict[str, Any] | None,
    loadavg: list[float],
    profiles: dict[str, Any],
    cpu: dict[str, Any] | None = None,
    runs: dict[str, int] | None = None,
) -> dict[str, Any]:
    duration = config["duration_s"]
    ok = [o for o in offered if 200 <= o.status < 300]
    ok_changes = sum(len(o.codes) for o in ok)
    lateness = [ms(o.t0 - o.due) for o in offered]
    latency: dict[str, list[float]] = {c: [] for c in CHANNELS}
    every: list[float] = []
    shown_at: dict[str, list[float]] = {c: [] for c in CHANNELS}  # perf_counter, dvc converted
    missing = dict.fromkeys(CHANNELS, 0)
    for o in ok:
        for code in o.codes:
            key = (code, versions[code])
            per_change = []
            for channel in CHANNELS:
                seen = watcher.shown[channel].get(key)
                if seen is None:
                    missing[channel] += 1
                    continue
                elapsed = seen - (o.wall0 if channel == "dvc" else o.t0)
                latency[channel].append(ms(elapsed))
                shown_at[channel].append(o.t0 + elapsed)
                per_change.append(elapsed)
            if len(per_change) == len(CHANNELS):
                every.append(ms(max(per_change)))
    disclosed: dict[str, Any] = {}
    for channel in CHANNELS:
        times = shown_at[channel]
        disclosed[channel] = {
            "count": len(times),
            "in_window_per_s": rate(sum(1 for t in times if t <= window_end), duration),
            # to the last one shown: the rate it kept, the catch-up included
            "overall_per_s": rate(len(times), max(times) - start) if times else 0.0,
        }
    every_rate = min(d["overall_per_s"] for d in disclosed.values())
    result: dict[str, Any] = {
        "config": config,
        "offered_per_s": config["rate_per_s"],
        "published_ok_changes": ok_changes,
        "publish_errors": {
            str(s): n for s, n in collections.Counter(o.status for o in offered).items() if not 200 <= s < 300
        },
        # over the offered window, or longer when the last answers came after it
        "achieved_publish_per_s": rate(ok_changes, max(duration, published_all - start)),
        "publish_window_s": round(published_all - start, 2),
        "publish_request": stats([ms(o.t1 - o.t0) for o in offered]),
        "publish_start_late": stats(lateness),
        "disclosed": disclosed,
        "latency": {c: stats(v) for c, v in latency.items()},
        "every_channel": stats(every),
        "not_disclosed_at_end": missing,
        "drained": drained,
        "drain_s": round(drain_end - published_all, 1),
        "loadavg_during": loadavg,
        # per 10% of the window: does the latency grow while the load lasts?
        "portal_p50_by_tenth": _by_tenth(offered, watcher, versions, start, duration),
    }
    if noop:
        result["noop"] = noop
        result["ratio_disclosed_to_noop"] = round(every_rate / noop["per_second"], 3)
    if profiles:
        result["profiles"] = profiles
    if cpu:
        result["cpu"] = cpu
    if runs:
        result["channel_runs"] = runs
    return result


def _by_tenth(
    offered: Sequence[Offered], watcher: Watcher, versions: dict[str, int], start: float, duration: float
) -> list[float | None]:
    buckets: list[list[float]] = [[] for _ in range(10)]
    for o in offered:
        tenth = min(9, max(0, int((o.t0 - start) / duration * 10)))
        for code in o.codes:
            seen = watcher.shown["portal"].get((code, versions[code]))
            if seen is not None:
                buckets[tenth].append(ms(seen - o.t0))
    return [round(percentile(b, 50), 1) if b else None for b in buckets]


# -- where the CPU went (from /proc: Linux) --------------------------------------------------

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...


def process_cpu(roots: dict[int, str]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each root process (by pid) and its
    descendants, summed by name: live ones, and children that ended and were waited for
    (a prefork pool's). A process under two roots counts under the nearer one."""
    parent: dict[int, int] = {}
    own: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 here
        own[pid] = sum(int(v) for v in fields[11:15]) * TICK_S
    found = dict.fromkeys(roots.values(), 0.0)
    for pid, seconds in own.items():
        ancestor = pid
        while ancestor not in roots and ancestor > 1:
            ancestor = parent.get(ancestor, 0)
        if ancestor in roots:
            found[roots[ancestor]] += seconds
    return found


def machine_cpu() -> tuple[float, float, float]:
    """(busy, all, stolen) CPU seconds of the machine so far, every core (the first line of
    /proc/stat). Stolen: what a virtual machine's host gave to others while it wanted to run."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) * TICK_S, sum(values) * TICK_S, values[7] * TICK_S


@dataclass
class CpuMeter:
    """What each process of the system (and the bench itself) used of the CPU between start and stop."""

    roots: dict[int, str]
    started: dict[str, float] = field(default_factory=dict)
    machine_started: tuple[float, float, float] = (0.0, 0.0, 0.0)
    wall_started: float = 0.0

    @classmethod
    def of(cls, system: System, profilers: Iterable[int] = ()) -> CpuMeter:
        roots = {p.proc.pid: name for name, p in system.processes.items() if p.proc is not None}
        if system.redis.proc is not None:
            roots[system.redis.proc.pid] = "redis-server"
        roots[os.getpid()] = "bench (clients, watcher)"
        roots.update(dict.fromkeys(profilers, "py-spy (--profile)"))
        return cls(roots)

    def start(self) -> CpuMeter:
        self.started = process_cpu(self.roots)
        self.machine_started = machine_cpu()
        self.wall_started = time.perf_counter()
        return self

    def stop(self) -> dict[str, Any]:
        ended = process_cpu(self.roots)
        busy, total, stolen = machine_cpu()
        wall = time.perf_counter() - self.wall_started
        used = {name: round(ended[name] - self.started.get(name, 0.0), 2) for name in ended}
        busy_s = busy - self.machine_started[0]
        total_s = total - self.machine_started[1]
        return {
            "wall_s": round(wall, 1),
            "cores": os.cpu_count(),
            "machine_busy": round(busy_s / total_s, 3) if total_s else None,
            "machine_busy_s": round(busy_s, 1),
            "stolen_s": round(stolen - self.machine_started[2], 1),
            "by_process_s": dict(sorted(used.items(), key=lambda item: -item[1])),
            "other_s": round(busy_s - sum(used.values()), 1),
        }


def cpu_lines(cpu: dict[str, Any]) -> list[str]:
    lines = [
        f"CPU from the first publish to the last change shown ({cpu['wall_s']:g} s, {cpu['cores']} cores): "
        f"machine busy {100 * (cpu['machine_busy'] or 0):.0f} % ({cpu['machine_busy_s']:g} CPU s, "
        f"{cpu.get('stolen_s', 0):g} s of it stolen by the host)"
    ]
    lines += [
        f"    {seconds:7.1f} s  {seconds / cpu['wall_s']:4.2f} cores  {name}"
        for name, seconds in cpu["by_process_s"].items()
        if seconds >= 0.05
    ]
    lines.append(f"    {cpu['other_s']:7.1f} s  outside the system and the bench")
    return lines


# -- py-spy ---------------------------------------------------------------------------------


def start_profilers(
    system: System, out: Path, *, gil: bool = False
) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
    """py-spy record (raw collapsed stacks, children included, without pausing the target).

    `gil`: only the threads holding the GIL are sampled, so the profile is of the CPU
    Python spends. Without it a thread waiting in the kernel (closing a file, under load)
    or for a core counts as busy: a fifth of the portal's samples were its file-closing
    thread, which used a twentieth of its CPU (per-thread /proc, stop 26)."""
    spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if spy is None:
        raise BenchError("--profile needs py-spy (pip install -c constraints.txt py-spy)")
    out.mkdir(parents=True, exist_ok=True)
    running = {}
    for name in PROFILED:
        process = system.processes.get(name)
        if process is None or process.proc is None:
            continue
        path = out / f"{name}.txt"
        argv = [spy, "record", "--pid", str(process.proc.pid), "--subprocesses", "--nonblocking"]
        argv += ["--rate", "50", "--format", "raw", "--output", str(path), *(["--gil"] if gil else [])]
        log = (out / f"{name}.py-spy.log").open("wb")
        running[name] = (subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT), path)
    time.sleep(1.0)  # py-spy attaches
    return running


def stop_profilers(running: dict[str, tuple[subprocess.Popen[bytes], Path]]) -> dict[str, Any]:
    for proc, _ in running.values():
        proc.send_signal(signal.SIGINT)
    found = {}
    for name, (proc, path) in running.items():
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if path.exists():
            found[name] = top_functions(path.read_text(errors="replace").splitlines())
    return found


OWN_CODE = ("notifier/", "procedures/", "minhbach_shared/", "content/", "hotline/")
# Leaves where a process waits for work (its broker connection, a server's event loop,
# an idle thread pool), not for an answer it needs: counted apart.
WAITING = ("_epoll.poll", "EpollSelector.select", "Condition.wait", "select", "poll", "sleep")


def top_functions(lines: Iterable[str], *, n: int = 12) -> dict[str, Any]:
    """From py-spy's raw format ("frame;frame;... count", `process N:` frames first): the
    samples, how many were a prefork child running a task, and, over the samples not waiting
    for work, the leaves with most samples (self, with their line) and our own functions
    with most samples anywhere in the stack (inclusive)."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = waiting = in_task = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        k = int(count)
        parts = stack.split(";")
        frames = [f for f in parts if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += k
        if sum(1 for f in parts if f.startswith("process ")) > 1:
            in_task += k  # a prefork child: the task itself
        leaf = _frame(frames[-1], line_no=True)
        if leaf.split(" (", 1)[0] in WAITING:
            waiting += k
            continue
        own[leaf] += k
        for frame in dict.fromkeys(_frame(f) for f in frames):
            if frame.split(" (", 1)[-1].startswith(OWN_CODE):
                inclusive[frame] += k
    busy = max(1, total - waiting)
    return {
        "samples": total,
        "waiting_for_work": waiting,
        "in_prefork_child": in_task,
        "self": [(f, round(100 * c / busy, 1)) for f, c in own.most_common(n)],
        "inclusive_own_code": [(f, round(100 * c / busy, 1)) for f, c in inclusive.most_common(2 * n)],
    }


def _frame(frame: str, *, line_no: bool = False) -> str:
    """'render (notifier/channels/pages.py:120)' -> 'render (notifier/channels/pages.py)'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    if not line_no:
        where = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/services/", "/packages/", "lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"


# -- alone ----------------------------------------------------------------------------------


def table_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    c = result["config"]
    rows = [
        (
            f"load @{c['catalogue']} procs: offered / achieved publish",
            f"{result['offered_per_s']:g} / {result['achieved_publish_per_s']:g} changes/s",
        ),
    ]
    for channel in CHANNELS:
        lat = result["latency"][channel]
        d = result["disclosed"][channel]
        cells = f"{lat['p50_ms']:.0f}/{lat['p99_ms']:.0f}/{lat['max_ms']:.0f} ms" if lat else "none"
        rows.append(
            (
                f"  {channel}: p50/p99/max, disclosed/s (window, overall)",
                f"{cells}, {d['in_window_per_s']:g}, {d['overall_per_s']:g}",
            )
        )
    every = result["every_channel"]
    rows.append(
        (
            "  every channel p50/p99/max",
            f"{every['p50_ms']:.0f}/{every['p99_ms']:.0f}/{every['max_ms']:.0f} ms",
        )
        if every
        else ("  every channel", "none")
    )
    if cpu := result.get("cpu"):
        busiest = ", ".join(
            f"{name} {sec / cpu['wall_s']:.2f}" for name, sec in list(cpu["by_process_s"].items())[:3]
        )
        rows.append(
            ("  CPU: machine busy; most cores used", f"{100 * (cpu['machine_busy'] or 0):.0f} %; {busiest}")
        )
    if runs := result.get("channel_runs"):
        changes = result["published_ok_changes"]
        rows.append(
            (
                "  channel runs (changes per run)",
                ", ".join(f"{c} {n} ({changes / n:.1f})" for c, n in runs.items() if n),
            )
        )
    missing = result["not_disclosed_at_end"]
    rows.append(
        ("  not disclosed at the end (portal/centre/dvc)", "/".join(str(missing[c]) for c in CHANNELS))
    )
    if result.get("noop"):
        rows.append(
            (
                "  no-op tasks/s (1 prefork worker); ratio",
                f"{result['noop']['per_second']:g}/s; {result['ratio_disclosed_to_noop']:.3f}",
            )
        )
    return rows


def seed_rows(seeded: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            f"  decision of {d['size']} new on {d['catalogue_before']}: every channel",
            f"{d['every_channel_ms'] / 1000:.1f} s (portal {d['portal_all_ms'] / 1000:.1f}, "
            f"centre {d['center_all_ms'] / 1000:.1f}, dvc {d['dvc_all_ms'] / 1000:.1f})",
        )
        for d in seeded.get("decisions", [])
    ]


def profile_lines(profiles: dict[str, Any], n: int = 8) -> list[str]:
    lines = []
    for name, prof in profiles.items():
        busy = prof["samples"] - prof["waiting_for_work"]
        lines.append(
            f"{name}: {prof['samples']} samples, {busy} not waiting for work, "
            f"{prof['in_prefork_child']} in a task (prefork child)"
        )
        lines += [f"    self {pct:5.1f}%  {f}" for f, pct in prof["self"][:n]]
        lines += [f"    incl {pct:5.1f}%  {f}" for f, pct in prof["inclusive_own_code"][:n]]
    return lines


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    redis = RedisServer(port=free_port(), dir=root / "redis")
    system: System | None = None
    noop_worker: ServiceProcess | None = None
    watcher: Watcher | None = None
    try:
        redis.start()
        info = machine(redis.client())
        print(f"starting the system in {root} ...", file=sys.stderr, flush=True)
        system = System(root=root, redis=redis, overrides=SHIPPED_TIMINGS).start()
        noop_worker = start_noop_worker(system, root, "prefork")
        watcher = Watcher(system.portal_dir, system.center_dir, Path(system.env["DVC_STANDIN_FILE"])).start()
        print(f"seeding {args.catalogue} procedures in force ...", file=sys.stderr, flush=True)
        seeded = seed(system, watcher, args.catalogue, timeout=args.seed_timeout_s)
        time.sleep(2.0)  # the runs after the last page (indexes, ledger) end
        print(f"no-op task rate x{args.noop_tasks} ...", file=sys.stderr, flush=True)
        noop = noop_rate(redis.url, noop_worker, tasks=args.noop_tasks)
        result = measure(
            system,
            rate_per_s=args.rate,
            duration_s=args.duration,
            batch=args.batch,
            clients=args.clients,
            drain_s=args.drain_s,
            noop=noop,
            watcher=watcher,
            profile_dir=args.profile,
            profile_gil=args.profile_gil,
        )
        result["seed"] = seeded
    except BaseException:
        if system is not None:
            print(system.logs(), file=sys.stderr)
        raise
    finally:
        if watcher is not None:
            watcher.stop()
        if noop_worker is not None:
            noop_worker.stop()
        if system is not None:
            system.stop()
        redis.stop()
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["machine"] = info
    result["timestamp"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def add_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The load's options; `prefix` ("load-") when bench.run carries them."""
    parser.add_argument(f"--{prefix}rate", type=float, default=100.0, help="changes offered per second (100)")
    parser.add_argument(f"--{prefix}duration", type=float, default=10.0, help="seconds of load (10)")
    parser.add_argument(f"--{prefix}batch", type=int, default=10, help="amendments per decision (10)")
    parser.add_argument(f"--{prefix}clients", type=int, default=32, help="concurrent publishing clients (32)")
    parser.add_argument(
        f"--{prefix}drain-s",
        type=float,
        default=60.0,
        help="wait at most this for the rest after the load (60)",
    )
    parser.add_argument(
        f"--{prefix}noop-tasks", type=int, default=2000, help="no-op tasks for the rate baseline (2000)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", type=int, default=1000, help="procedures in force (default 1000)")
    add_options(parser)
    parser.add_argument("--seed-timeout-s", type=float, default=300.0, help="per seeding decision (300)")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the notifier's workers into DIR")
    parser.add_argument(
        "--profile-gil", action="store_true", help="with --profile: sample only threads holding the GIL (CPU)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    result = run_and_save(run, args, repo_root=REPO_ROOT, prefix="mb-bench-load-")
    if result is None:
        return 130
    rows = table_rows(result) + seed_rows(result["seed"])
    width = max(len(k) for k, _ in rows)
    m = result["machine"]
    print(
        f"bench.load — {result['timestamp']} — {m['nproc']} cpu, load {m['loadavg_at_start'][0]:.2f} -> "
        f"{m['loadavg_at_end'][0]:.2f} (during {result['loadavg_during']})"
    )
    print("\n".join(f"{k:<{width}}   {v}" for k, v in rows))
    publish = result["publish_request"]
    print(
        f"publish p50/p99 {publish['p50_ms']:.0f}/{publish['p99_ms']:.0f} ms; "
        f"portal p50 by tenth of the window: {result['portal_p50_by_tenth']}"
    )
    if result.get("cpu"):
        print("\n".join(cpu_lines(result["cpu"])))
    if result.get("profiles"):
        print("\n".join(profile_lines(result["profiles"])))
    print(f"(JSON in {args.output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
