"""The service-centre channel: the kiosk board and the A4 notices of the Public Administrative Service Centre.

What the centre shows, as static files under `center_dir` (served at /center/):
- `index.html`, the kiosk board: every procedure in force by field, in large type, with
  the hotline's phones and office hours and the latest changes; it updates itself
  over SSE (/center/stream) without a reload when anything on it changes;
- `thu-tuc/<code>.html`, one notice per procedure with every mandatory component, laid
  out for A4 when printed (the paper posted at the centre): what its latest amendment
  changed, and a QR code of its portal page (inline SVG: the notice requests nothing).
  A replaced or abolished procedure's notice says so in large letters, so staff take
  the old paper down;
- `board.json`, the board's stamp: what the SSE stream compares and sends.

After a run that changed the board, the channel appends the new stamp to a Redis
stream: kiosks wake at once. The stream is only a wake-up; the truth is board.json,
so a kiosk that missed a wake-up (Redis restarted, a reconnect) still converges
the next time the stream endpoint looks (within BOARD_POLL_S).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import redis
from markupsafe import Markup
from redis.exceptions import RedisError

from minhbach_shared.times import VIETNAM
from notifier.channels.base import Outcome, ReadModel
from notifier.channels.pages import (
    DEPARTMENT,
    PageVersions,
    all_present,
    page_environment,
    page_name,
    page_url,
    qr_svg,
    read_head,
    write_atomic,
)
from notifier.channels.views.catalogue import Catalogue, FieldPages, Refresh, Timeline
from notifier.channels.views.procedures import ProcedureViews
from notifier.channels.views.qa import StatisticsView, statistics_view
from notifier.disclosure.domain import Delivery, SubjectKey
from notifier.hotline.domain import STATISTICS_KEY

log = logging.getLogger(__name__)

CENTER = "center"
CENTRE_NAME = "Trung tâm Phục vụ hành chính công tỉnh Thái Bình"
BOARD_STREAM = "mb:center:board"
BOARD_STREAM_LEN = 100
BOARD_FILE = "board.json"
NOTICES_DIR = "thu-tuc"
RECENT_CHANGES = 8
# The board lists every procedure up to this many; beyond, it shows the fields, each on
# its own pages (linh-vuc-<slug>.html, then linh-vuc-<slug>-tu-<code>.html, ...) of about
# BOARD_PAGE_SIZE rows (views.catalogue.paged), so no file grows with the catalogue and a
# change rewrites the pages whose rows changed (and a field's first page, which counts
# its procedures and leads to its pages).
BOARD_ALL_UP_TO = 200
BOARD_PAGE_SIZE = 100
# How long the stream endpoint waits on Redis before it looks at board.json anyway.
BOARD_POLL_S = 5.0
_HOTLINE_META = re.compile(r'<meta name="mb:hotline-version" content="(\d+)">')


class Announcer(Protocol):
    def __call__(self, stamp: str) -> None: ...


@dataclass(frozen=True)
class Board:
    """What the kiosk board shows, from the channel's Catalogue as of this run."""

    fields: list[dict[str, Any]]
    recent: list[dict[str, Any]]
    hotline: StatisticsView | None
    in_force: int
    stamp: str
    # False: the fields are listed with their counts; their procedures are on their pages.
    everything: bool = True


_LATEST = datetime.max.replace(tzinfo=UTC)


def _recent_order(change: dict[str, Any]) -> tuple[Any, ...]:
    # Newest first; on the same day the later decision (ids grow) comes first.
    h, p = change["h"], change["p"]
    return (h["effective_at"] or _LATEST, h["decision_id"] or 0, p["code"], h["version"] or 0)


def read_stamp(root: Path) -> str | None:
    """The board's current stamp as written by the last run (None: no board yet)."""
    try:
        return str(json.loads((root / BOARD_FILE).read_text(encoding="utf-8"))["stamp"])
    except (FileNotFoundError, NotADirectoryError, ValueError, KeyError, TypeError):
        return None


class CenterChannel:
    name = CENTER
    kinds = frozenset({"procedure", STATISTICS_KEY[0]})

    def __init__(
        self,
        root: Path,
        *,
        announce: Announcer | None = None,
        clock: Callable[[], datetime] | None = None,
        portal_url: str | None = None,
        board_all_up_to: int = BOARD_ALL_UP_TO,
        board_page_size: int = BOARD_PAGE_SIZE,
    ) -> None:
        self.root = Path(root)
        self.page_versions = PageVersions()  # reconcile's reading back
        self.board_all_up_to = board_all_up_to
        self.field_pages = FieldPages(board_page_size, lambda slug: f"linh-vuc-{slug}")
        # Each field page written -> what it showed besides its rows (its codes and
        # neighbours; the first page, the field's size and pages too) and its stamp: written
        # again only if that differs, one of its procedures changed (Refresh.codes) or the
        # hotline did.
        self._field_pages_written: dict[str, tuple[Any, ...]] = {}
        self._hotline_written: list[Any] | None = None
        # The portal's public address: each notice's QR code and links lead there (None: no QR).
        self.portal_url = portal_url.rstrip("/") if portal_url else None
        self.announce = announce
        self.clock = clock or (lambda: datetime.now(UTC))
        self.env = page_environment()
        self.procedure_view = ProcedureViews()
        # The board as the last run showed it, updated by what changed (views/catalogue.py):
        # each procedure's row is rendered once per version, the board is their join.
        row = self.env.get_template("center/_board_row.html")
        self.catalogue = Catalogue(self.procedure_view, {"board": lambda p: row.render(p=p)})
        self.recent = Timeline(_recent_order)

    def deliver(self, batch: Sequence[Delivery], model: ReadModel) -> dict[int, Outcome]:
        now = self.clock()
        if not all_present(self.root, ["index.html", *self._field_pages_written]):
            self.catalogue.invalidate()  # the board was wiped: rebuild it whole
        refresh = self.catalogue.refresh(model)
        names = self.catalogue.names
        outcomes: dict[int, Outcome] = {}
        for delivery in batch:
            subject = model.get(delivery.key)
            if subject is None:
                outcomes[delivery.id] = Outcome.failed("subject is not in the read model")
                continue
            if subject.kind != "procedure":  # the hotline's phones and hours: on the board
                outcomes[delivery.id] = Outcome.shown(subject.version)
                continue
            try:
                view = self.procedure_view(subject, names)
                html = self.env.get_template("center/notice.html").render(
                    p=view,
                    department=DEPARTMENT,
                    centre=CENTRE_NAME,
                    printed_on=now.astimezone(VIETNAM),
                    **self.portal_links(view),
                )
                write_atomic(self.root / NOTICES_DIR / f"{view['page']}.html", html)
                outcomes[delivery.id] = Outcome.shown(subject.version)
            except Exception as exc:
                log.exception("centre notice failed", extra={"subject": delivery.key})
                outcomes[delivery.id] = Outcome.failed(f"{type(exc).__name__}: {exc}")
        rendered = False
        if any(o.ok for o in outcomes.values()):
            try:
                self.render_board(model, now=now, refresh=refresh)
                rendered = True
            except Exception as exc:
                log.exception("centre board failed")
                error = f"board: {type(exc).__name__}: {exc}"
                outcomes = {k: o if not o.ok else Outcome.failed(error) for k, o in outcomes.items()}
        if not rendered:
            self.catalogue.invalidate()  # the next run rebuilds the board whole
        return outcomes

    def portal_links(self, view: dict[str, Any]) -> dict[str, Any]:
        """A notice's way to the portal: its page's address and QR code, where decisions are."""
        if self.portal_url is None:
            return {"page_url": None, "qr": None, "decision_root": None}
        url = page_url(self.portal_url, "procedure", view["code"])
        qr = Markup(qr_svg(url))  # noqa: S704 - qr_svg: one path, and the title it escapes
        return {"page_url": url, "qr": qr, "decision_root": f"{self.portal_url}/quyet-dinh/"}

    def board(self, model: ReadModel, refresh: Refresh) -> Board:
        """The board from the Catalogue, its recent changes brought up to date."""
        catalogue = self.catalogue
        if refresh.full:
            self.recent = Timeline(_recent_order)
        for code in refresh.codes:
            view = catalogue.views.get(code)
            # A procedure's history holds the versions its owner applied: each is in effect.
            self.recent.replace(code, [{"p": view, "h": h} for h in view["history"]] if view else [])
        listed = [f for f in catalogue.fields() if f["procedures"]]
        everything = len(catalogue.in_force) <= self.board_all_up_to
        fields = [
            {
                **f,
                "rows": catalogue.joined("board", f["procedures"]) if everything else None,
                "pages": self.field_pages.names(f),
            }
            for f in listed
        ]
        stats = model.get(STATISTICS_KEY)
        hotline = statistics_view(stats) if stats is not None else None
        # The stamp changes exactly when something the board shows changes: every
        # procedure's (code, version, status), kept as one running digest, and the hotline.
        shown = json.dumps(
            [f"{catalogue.digest:016x}", [hotline.phones, hotline.office_hours] if hotline else None],
            ensure_ascii=False,
        )
        return Board(
            fields=fields,
            recent=self.recent.newest(RECENT_CHANGES),
            hotline=hotline,
            in_force=len(catalogue.in_force),
            stamp=hashlib.sha256(shown.encode()).hexdigest()[:16],
            everything=everything,
        )

    def _write_field_pages(self, board: Board, refresh: Refresh, *, now: datetime) -> None:
        """Past BOARD_ALL_UP_TO: each field's pages whose rows (or the hotline) changed."""
        kept: set[str] = set()
        template = self.env.get_template("center/board.html")
        hotline = [board.hotline.phones, board.hotline.office_hours] if board.hotline else None
        # The pages show the hotline's phones and hours (not its statistics, which every
        # answered call changes).
        hotline_changed = refresh.full or hotline != self._hotline_written
        self._hotline_written = hotline
        for f in [] if board.everything else board.fields:
            names: list[str] = f["pages"]
            kept.update(names)
            # A field whose rows changed, a new page, or all of them (the hotline they show).
            if not (
                hotline_changed
                or f["name"] in refresh.fields
                or any(name not in self._field_pages_written for name in names)
            ):
                continue
            # (At the centre's root, linh-vuc-<slug>...html: where the rows' relative links hold.)
            for page in self.field_pages.of(f):
                listed = page.listed
                written = self._field_pages_written.get(page.name)
                if (
                    written is not None
                    and written[0] == listed
                    and not hotline_changed
                    and not refresh.codes.intersection(page.codes)
                ):
                    continue  # (a page wiped since: deliver saw it missing and rebuilt the board)
                rows = self.catalogue.joined("board", page.codes)
                # What the page shows: its rows as they are (JSON-escaping ~25 KB of rows
                # a page only to hash them was a twentieth of the centre's time under load).
                shown = json.dumps([listed, hotline], ensure_ascii=False)
                digest = hashlib.sha256(f"{shown}\n{rows}".encode()).hexdigest()
                on_board = Board(
                    fields=[{**f, "rows": rows}],
                    recent=[],
                    hotline=board.hotline,
                    in_force=board.in_force,
                    # Its own stamp (what it shows), not the board's: a page kept as it was
                    # is the page a fresh run writes. A kiosk showing it looks again at
                    # every change of the board, and swaps in what it gets.
                    stamp=digest[:16],
                )
                html = template.render(
                    board=on_board,
                    field=f,
                    pager=page,
                    department=DEPARTMENT,
                    centre=CENTRE_NAME,
                    generated_at=now,
                )
                write_atomic(self.root / page.name, html)
                self._field_pages_written[page.name] = (listed, digest)
        # Pages of fields (or of pages) no longer shown go: those written before and not
        # kept now (every kept page is among the written ones by here). A rebuild lists
        # the folder instead: strays, a restore.
        if refresh.full:
            present = {path.name for path in self.root.glob("linh-vuc-*.html")}
        else:
            present = set(self._field_pages_written)
        for name in present - kept:
            (self.root / name).unlink(missing_ok=True)
            self._field_pages_written.pop(name, None)

    def render_board(self, model: ReadModel, *, now: datetime, refresh: Refresh | None = None) -> Board:
        refresh = refresh or self.catalogue.refresh(model)
        board = self.board(model, refresh)
        before = read_stamp(self.root)
        if refresh.full:
            self._field_pages_written = {}
        self._write_field_pages(board, refresh, now=now)
        html = self.env.get_template("center/board.html").render(
            board=board, department=DEPARTMENT, centre=CENTRE_NAME, generated_at=now
        )
        write_atomic(self.root / "index.html", html)
        state = {"stamp": board.stamp, "generated_at": now.isoformat(), "in_force": board.in_force}
        write_atomic(self.root / BOARD_FILE, json.dumps(state))
        if board.stamp != before and self.announce is not None:
            # A wake-up only: kiosks read board.json, so a lost one costs BOARD_POLL_S.
            try:
                self.announce(board.stamp)
            except Exception:
                log.warning("kiosks not woken; they look again within %.0f s", BOARD_POLL_S, exc_info=True)
        return board

    def shown_versions(self, model: ReadModel) -> dict[SubjectKey, int | None]:
        """Each notice's `mb:version` marker, and the board's hotline marker: what the centre shows."""
        notices = f"{self.root}/{NOTICES_DIR}"
        shown = self.page_versions.read(
            {
                key: f"{notices}/{page_name(s.id)}.html"
                for key, s in model.by_key.items()
                if s.kind == "procedure"
            }
        )
        board = read_head(self.root / "index.html")
        if board is None:
            # Without the board nothing is reachable at the kiosk: count everything as missing.
            shown = dict.fromkeys(shown)
        if STATISTICS_KEY in model.by_key:
            match = _HOTLINE_META.search(board) if board else None
            shown[STATISTICS_KEY] = int(match.group(1)) if match else None
        return shown


# -- live updates ----------------------------------------------------------------------


class RedisAnnouncer:
    """Appends each new board stamp to the Redis stream the kiosks' SSE endpoint reads."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._client: redis.Redis | None = None

    def __call__(self, stamp: str) -> None:
        if self._client is None:
            self._client = redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._client.xadd(BOARD_STREAM, {"stamp": stamp}, maxlen=BOARD_STREAM_LEN, approximate=True)


async def board_stamps(redis: Any, root: Path, *, poll_s: float = BOARD_POLL_S) -> AsyncIterator[str]:
    """Yield the board's stamp now, then each time it changes: woken by the Redis stream,
    and looking at board.json at least every `poll_s` (Redis down or restarted empty)."""

    async def newest_id() -> str | None:
        try:
            entries = await redis.xrevrange(BOARD_STREAM, count=1)
        except (RedisError, OSError):
            return None
        return _id(entries[0][0]) if entries else "0-0"

    # Take the stream's position before reading the file: a change in between wakes us.
    last_id = await newest_id()
    sent = read_stamp(root)
    if sent is not None:
        yield sent
    while True:
        if last_id is None:
            await asyncio.sleep(poll_s)
            last_id = await newest_id()
        else:
            try:
                got = await redis.xread({BOARD_STREAM: last_id}, block=int(poll_s * 1000), count=100)
            except (RedisError, OSError):
                last_id = None
                continue
            if got:
                last_id = _id(got[0][1][-1][0])
        stamp = read_stamp(root)
        if stamp is not None and stamp != sent:
            sent = stamp
            yield stamp


class BoardWatch:
    """One reader of the board's stamps per process, shared by every open kiosk stream.

    The reader (board_stamps) holds the one Redis connection; an open stream costs a
    socket and a task here, never a Redis connection, so no number of kiosks (or of
    streams opened to exhaust Redis's clients) can stop the system. `max_streams` caps
    them per process: beyond it the route answers 503 with Retry-After.
    """

    def __init__(self, redis: Any, root: Path, *, max_streams: int, poll_s: float = BOARD_POLL_S) -> None:
        self.redis = redis
        self.root = root
        self.max_streams = max_streams
        self.poll_s = poll_s
        self.open = 0
        self.stamp: str | None = None
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    def full(self) -> bool:
        return self.open >= self.max_streams

    async def stamps(self) -> AsyncIterator[str]:
        """The board's stamp now, then each new one, for one kiosk."""
        self.open += 1
        try:
            if self._reader is None or self._reader.done():
                self._reader = asyncio.get_running_loop().create_task(self._read())
            sent = read_stamp(self.root)
            if sent is not None:
                yield sent
            while True:
                sent = await self._next_after(sent)
                yield sent
        finally:
            self.open -= 1

    async def _next_after(self, sent: str | None) -> str:
        async with self._changed:
            await self._changed.wait_for(lambda: self.stamp is not None and self.stamp != sent)
            assert self.stamp is not None
            return self.stamp

    async def _read(self) -> None:
        async for stamp in board_stamps(self.redis, self.root, poll_s=self.poll_s):
            async with self._changed:
                self.stamp = stamp
                self._changed.notify_all()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


def _id(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
