"""One channel run for one changed procedure in a large catalogue: every list rebuilt, or
only the lists the change touched.

    python -m bench.portal_run [procedures ...]     (default: 1000 10000)

In process (a real redis-server, a real SQLite file, the real portal and centre channels;
the owner is the notifier's FakeOwner), the same runs side by side in one process,
alternating: "rebuild" makes each channel forget what it showed before the run
(Catalogue.invalidate: every list page and the board are built from every procedure, as
every run did before issue 15); "incremental" renders the changed procedure's pages and
joins the rows already rendered into the lists that show it. Both read the read model
through the SubjectCache (only rows updated lately). Prints, per catalogue size and
channel, the p50 of the time until the changed procedure's page is written and until the
whole run is done. Then "new": a procedure comes into force (every list that counts or
shows procedures in force changes), incremental, on each channel.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import notifier.channels.center as center_module
import notifier.channels.portal as portal_module
from minhbach_testing.notifier import FakeOwner, envelope, notifier_on, procedure_state
from minhbach_testing.plugin import RedisServer, free_port
from notifier.disclosure import services as disclosure
from notifier.parts import Parts

FIELDS = ["Hoạt động xây dựng", "Quy hoạch xây dựng", "Nhà ở", "Vật liệu xây dựng", "Kinh doanh bất động sản"]
ROUNDS = 5


class Catalogue:
    def __init__(self, root: Path, redis_url: str, size: int) -> None:
        self.owner = FakeOwner()
        self.notifier: Parts = notifier_on(root, redis_url, self.owner, channel_batch_size=size + 10)
        self.version = 1
        self.size, self.added = size, 0
        for i in range(size):
            self.put(i, 1)
        disclosure.ingest(self.notifier, [envelope("procedure", self.code(i), 1) for i in range(size)])
        disclosure.run_channel(self.notifier, "portal")
        disclosure.run_channel(self.notifier, "center")

    @staticmethod
    def code(i: int) -> str:
        return f"MB.BENCH.{i:05d}"

    def put(self, i: int, version: int, code: str | None = None) -> None:
        state = procedure_state(code or self.code(i), version, name=f"Thủ tục số {i} cấp giấy phép")
        state["field"] = FIELDS[i % len(FIELDS)]
        self.owner.put("procedure", state)

    def one_new(self, channel: str) -> tuple[float, float]:
        """(ms until the new procedure's page is written, ms until the run is done). Its code
        sorts among its field's, anywhere (MB.BENCH.04211.3 after MB.BENCH.04211): paged
        by position, the pages after it showed other procedures."""
        self.added += 1
        i = (self.added * 7919) % self.size  # spread over the catalogue, the same each run
        code = f"{self.code(i)}.{self.added}"
        self.put(i, 1, code)
        disclosure.ingest(self.notifier, [envelope("procedure", code, 1)])
        return self._timed_run(channel, code)

    def one_change(self, channel: str, *, rebuild: bool) -> tuple[float, float]:
        """(ms until the changed page is written, ms until the run is done) on `channel`."""
        self.version += 1
        self.put(7, self.version)
        disclosure.ingest(self.notifier, [envelope("procedure", self.code(7), self.version)])
        if rebuild:
            self.notifier.channels[channel].catalogue.invalidate()  # type: ignore[attr-defined]
        return self._timed_run(channel, self.code(7))

    def _timed_run(self, channel: str, code: str) -> tuple[float, float]:
        other = "center" if channel == "portal" else "portal"
        disclosure.run_channel(self.notifier, other)  # not measured: only `channel` is
        module = portal_module if channel == "portal" else center_module
        written: dict[str, float] = {}
        write = module.write_atomic

        def spy(path: Path, text: str) -> None:
            write(path, text)
            if path.name == f"{code}.html":
                written.setdefault("page", time.perf_counter())

        module.write_atomic = spy  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            disclosure.run_channel(self.notifier, channel)
            done = time.perf_counter()
        finally:
            module.write_atomic = write  # type: ignore[assignment]
        return (written["page"] - started) * 1000, (done - started) * 1000


def run(sizes: Sequence[int]) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(port=free_port(), dir=Path(tmp) / "redis")
        redis.start()
        try:
            for size in sizes:
                catalogue = Catalogue(Path(tmp) / str(size), redis.url, size)
                for channel in ("portal", "center"):
                    samples: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
                    for _ in range(2):  # alternate, so drift on the machine hits both alike
                        for rebuild in (True, False):
                            catalogue.one_change(channel, rebuild=False)  # settle
                            samples[rebuild] += [
                                catalogue.one_change(channel, rebuild=rebuild) for _ in range(ROUNDS)
                            ]
                    kinds = {
                        "rebuild" if rebuild else "incremental": runs for rebuild, runs in samples.items()
                    }
                    catalogue.one_new(channel)  # settle
                    kinds["new"] = [catalogue.one_new(channel) for _ in range(2 * ROUNDS)]
                    for lists, runs in kinds.items():
                        results.append(
                            {
                                "procedures": size,
                                "channel": channel,
                                "lists": lists,
                                "page_p50_ms": round(statistics.median(r[0] for r in runs), 1),
                                "run_p50_ms": round(statistics.median(r[1] for r in runs), 1),
                            }
                        )
                catalogue.notifier.engine.dispose()
        finally:
            redis.stop()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    sizes = [int(a) for a in (argv if argv is not None else sys.argv[1:])] or [1000, 10000]
    print(f"{'procedures':>10}  {'channel':<7} {'lists':<12} {'page p50':>10} {'run p50':>10}")
    for r in run(sizes):
        print(
            f"{r['procedures']:>10}  {r['channel']:<7} {r['lists']:<12} "
            f"{r['page_p50_ms']:>8.1f} ms {r['run_p50_ms']:>7.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
