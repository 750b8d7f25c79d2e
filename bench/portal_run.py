"""One portal run for one changed procedure in a large catalogue, before and after the caches.

    python -m bench.portal_run [procedures ...]     (default: 1000 5000)

In process (a real redis-server, a real SQLite file, the real portal channel; the owner
is the notifier's FakeOwner), the same runs side by side in one process, alternating:
"before" reads every subject row and builds every procedure's view each run; "after"
uses the notifier's SubjectCache (reads only changed rows) and ProcedureViews (builds a
view once per version). Prints, per catalogue size, the p50 of the time until the
changed procedure's page is written and until the whole run (index pages) is done.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis as redis_lib

import notifier.channels.portal as portal_module
from minhbach_testing.notifier import FakeOwner, envelope, procedure_state, registry
from minhbach_testing.plugin import RedisServer, free_port
from notifier.bootstrap import build_parts, make_notifier_celery
from notifier.channels.views.procedures import ProcedureViews, procedure_view
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure
from notifier.manage import migrate
from notifier.parts import Parts
from notifier.settings import Settings

FIELDS = ["Hoạt động xây dựng", "Quy hoạch xây dựng", "Nhà ở", "Vật liệu xây dựng", "Kinh doanh bất động sản"]
ROUNDS = 7


class Catalogue:
    def __init__(self, root: Path, redis_url: str, size: int) -> None:
        settings = Settings(
            database_url=f"sqlite:///{root}/notifier.db",
            portal_dir=root / "portal",
            center_dir=root / "center",
            redis_url=redis_url,
            log_json=False,
            environment="test",
            channel_batch_size=size + 10,
        )
        migrate(settings)
        self.owner = FakeOwner()
        self.notifier: Parts = build_parts(
            settings,
            celery=make_notifier_celery(settings),
            owners=registry(self.owner, FakeOwner(), FakeOwner()),
            redis=redis_lib.Redis.from_url(redis_url),
        )
        self.version = 1
        for i in range(size):
            self.put(i, 1)
        disclosure.ingest(self.notifier, [envelope("procedure", self.code(i), 1) for i in range(size)])
        disclosure.run_channel(self.notifier, "portal")

    @staticmethod
    def code(i: int) -> str:
        return f"MB.BENCH.{i:05d}"

    def put(self, i: int, version: int) -> None:
        state = procedure_state(self.code(i), version, name=f"Thủ tục số {i} cấp giấy phép")
        state["field"] = FIELDS[i % len(FIELDS)]
        self.owner.put("procedure", state)

    def one_change(self) -> tuple[float, float]:
        """(ms until the changed page is written, ms until the run is done)."""
        self.version += 1
        self.put(7, self.version)
        disclosure.ingest(self.notifier, [envelope("procedure", self.code(7), self.version)])
        written: dict[str, float] = {}
        write = portal_module.write_atomic

        def spy(path: Path, text: str) -> None:
            write(path, text)
            if path.name == f"{self.code(7)}.html":
                written.setdefault("page", time.perf_counter())

        portal_module.write_atomic = spy
        try:
            started = time.perf_counter()
            disclosure.run_channel(self.notifier, "portal")
            done = time.perf_counter()
        finally:
            portal_module.write_atomic = write
        return (written["page"] - started) * 1000, (done - started) * 1000

    def use(self, *, caches: bool) -> None:
        portal: Any = self.notifier.channels["portal"]
        if caches:
            self.notifier.subjects = repo.SubjectCache()
            portal.procedure_view = ProcedureViews()
            self.one_change()  # fills them
        else:
            self.notifier.subjects.load = repo.all_subjects  # type: ignore[method-assign]
            portal.procedure_view = procedure_view


def run(sizes: Sequence[int]) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(port=free_port(), dir=Path(tmp) / "redis")
        redis.start()
        try:
            for size in sizes:
                catalogue = Catalogue(Path(tmp) / str(size), redis.url, size)
                samples: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
                for _ in range(2):  # alternate, so drift on the machine hits both alike
                    for caches in (False, True):
                        catalogue.use(caches=caches)
                        samples[caches] += [catalogue.one_change() for _ in range(ROUNDS)]
                for caches, runs in samples.items():
                    results.append(
                        {
                            "procedures": size,
                            "caches": caches,
                            "page_p50_ms": round(statistics.median(r[0] for r in runs), 1),
                            "run_p50_ms": round(statistics.median(r[1] for r in runs), 1),
                        }
                    )
                catalogue.notifier.engine.dispose()
        finally:
            redis.stop()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    sizes = [int(a) for a in (argv if argv is not None else sys.argv[1:])] or [1000, 5000]
    print(f"{'procedures':>10}  {'caches':<7} {'page p50':>10} {'run p50':>10}")
    for r in run(sizes):
        print(
            f"{r['procedures']:>10}  {'after' if r['caches'] else 'before':<7} "
            f"{r['page_p50_ms']:>8.1f} ms {r['run_p50_ms']:>7.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
