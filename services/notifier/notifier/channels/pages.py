"""What every channel that writes pages shares: formatters, the Jinja setup, atomic
writes, the one lock, and the markers a page carries.

The portal and the service centre render with page_environment(); the dvc and e-mail
channels link to the portal's pages by page_name(). Every file is written to a
temporary file beside it and renamed over it, so a reader never sees half a page.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from html import escape, unescape
from pathlib import Path
from typing import Any, TypeVar

import zint
from jinja2 import Environment, PackageLoader, select_autoescape

from minhbach_shared.text import nfc, slugify
from minhbach_shared.times import VIETNAM, parse_moment

K = TypeVar("K")

SITE_TITLE = "Cải cách hành chính — Sở Xây dựng tỉnh Thái Bình"
DEPARTMENT = "Sở Xây dựng tỉnh Thái Bình"
# How much of a page its markers are looked for in (they are in its <head>).
HEAD_CHARS = 4000
VERSION_META = re.compile(r'<meta name="mb:version" content="(\d+)">')
_SUBJECT_META = re.compile(r'<meta name="mb:subject" content="([a-z]+):([^"]*)">')
_CITES_META = re.compile(r'<meta name="mb:cites" content="([^"]*)">')
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")


# -- formatters ----------------------------------------------------------------------


def page_name(identifier: str) -> str:
    """A file name for a code or id: kept as is when safe (MB.XD.001), else slugified."""
    return identifier if _SAFE_NAME.match(identifier) else slugify(identifier)


def vn_date(value: Any) -> str:
    """dd/mm/yyyy in Vietnam time; a bare date stays that date."""
    if not value:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM).strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    if len(text) == 10:
        try:
            return date.fromisoformat(text).strftime("%d/%m/%Y")
        except ValueError:
            return text
    parsed = parse_moment(text)
    return parsed.astimezone(VIETNAM).strftime("%d/%m/%Y") if parsed else text


def vn_datetime(value: datetime | None) -> str:
    return value.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y") if value else ""


def vnd(amount: Any) -> str:
    """150000 -> "150.000 đồng" (dots group thousands in Vietnamese); "" when there is no amount."""
    if amount is None or isinstance(amount, bool) or amount == "":
        return ""
    try:
        return f"{int(amount):,}".replace(",", ".") + " đồng"
    except (TypeError, ValueError):
        return as_text(amount)


def as_text(value: Any) -> str:
    """Any value as NFC text ("" for None)."""
    return nfc(str(value)) if value is not None else ""


def as_texts(value: Any) -> list[str]:
    """A string or a list of values as a list of NFC texts, empty ones left out."""
    if not value:
        return []
    if isinstance(value, str):
        return [nfc(value)]
    return [as_text(v) for v in value if v not in (None, "")]


# -- templates -----------------------------------------------------------------------


def page_environment() -> Environment:
    """The Jinja environment of the public pages (portal and service centre)."""
    env = Environment(
        loader=PackageLoader("notifier", "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the package and a worker never sees them change: without
        # this, every get_template stats its file (~110 a portal run at 10,000 procedures).
        auto_reload=False,
    )
    env.filters["vn_date"] = vn_date
    env.filters["vn_datetime"] = vn_datetime
    env.filters["page_name"] = page_name
    env.filters["tel"] = lambda phone: re.sub(r"[^0-9+]", "", str(phone))
    return env


# -- writing -------------------------------------------------------------------------


class _Releaser:
    """Lets go of the pages write_atomic replaced, on a thread of its own.

    Renaming over a page drops the old file's last name, and the kernel frees its blocks
    inside that rename: ~1 ms on average (p99 6 ms) on ext4 under the system's load,
    against 0.03 ms when nothing is freed, a third of the portal worker's time. Holding
    the old file open across the rename moves the freeing to its close, which this
    thread does, off the run's path. A fork (a Celery child) starts without the thread,
    so one is started per process; when the thread lags, the writer closes itself."""

    MOST_HELD = 256  # open files waiting, well under a process's 1,024

    def __init__(self) -> None:
        self._pid = 0
        self._held: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._lock = threading.Lock()

    def release(self, fd: int) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._held = os.getpid(), queue.SimpleQueue()
                closer = threading.Thread(target=self._close_all, args=(self._held,), daemon=True)
                closer.start()
        if self._held.qsize() >= self.MOST_HELD:
            os.close(fd)
        else:
            self._held.put(fd)

    @staticmethod
    def _close_all(held: queue.SimpleQueue[int]) -> None:
        while True:
            fd = held.get()
            with contextlib.suppress(OSError):
                os.close(fd)


_releaser = _Releaser()


def write_atomic(path: Path, text: str) -> None:
    """Write `text` as UTF-8 so that readers see the old file or the new one, never half.

    A page that already holds exactly these bytes is left alone: renaming a new file over
    an existing one costs the most of a portal run under load (above), and several lists
    are rendered again each run with nothing changed."""
    data = nfc(text).encode("utf-8")
    try:
        old: int | None = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        old = None
    try:
        if old is not None and os.fstat(old).st_size == len(data) and os.pread(old, len(data) + 1, 0) == data:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            # mkstemp makes 0600; the web server reading the portal is another user.
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if old is not None:
            _releaser.release(old)
            old = None
    finally:
        if old is not None:
            os.close(old)


# -- reading back --------------------------------------------------------------------


def read_head(path: Path) -> str | None:
    """The start of a written page, where its markers are; None when there is no page.

    Only the start is read (reconcile reads every page back: at 10,000 procedures whole
    pages were tens of megabytes a round), and bytes that are not UTF-8 (a damaged page)
    read as replacement characters, so its markers do not match and it is repaired."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read(HEAD_CHARS)
    except (FileNotFoundError, NotADirectoryError):
        return None


def all_present(folder: Path, names: Iterable[str]) -> bool:
    """Whether every one of `names` is a file in `folder`, from one listing of a small folder
    (a run checks its ~100 list pages at 10,000: a `stat` each grew with the catalogue)."""
    try:
        with os.scandir(folder) as entries:
            files = {entry.name for entry in entries if entry.is_file()}
    except (FileNotFoundError, NotADirectoryError):
        return False
    return all(name in files for name in names)


class PageVersions:
    """The `mb:version` marker of each page, read back, and remembered for as long as its
    file is the same file.

    Reconcile reads every page back each round: at 10,000 procedures that was ~20,000 files
    opened and decoded a round, three quarters of it. A page is only ever replaced (a new
    file renamed over it: a new inode), and anything that changes a file in place changes
    its ctime, which no one can set back; so a page whose inode, size, mtime and ctime are
    what they were when it was read holds what it held, and a stat is enough."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[tuple[int, ...], int | None]] = {}

    def read(self, pages: Mapping[K, str]) -> dict[K, int | None]:
        """Each page's version marker; None for a page missing or without one (damaged).
        Only this round's pages are remembered for the next."""
        known, self._known = self._known, {}
        shown: dict[K, int | None] = {}
        for key, path in pages.items():
            try:
                found = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                shown[key] = None
                continue
            stamp = (found.st_ino, found.st_dev, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
            remembered = known.get(path)
            if remembered is not None and remembered[0] == stamp:
                version = remembered[1]
            else:
                # Replaced after the stat: the next round's stat differs and reads it again.
                head = read_head(Path(path))
                match = VERSION_META.search(head) if head is not None else None
                version = int(match.group(1)) if match else None
            self._known[path] = (stamp, version)
            shown[key] = version
        return shown


def read_meta(path: Path) -> tuple[tuple[str, str] | None, list[str]]:
    """A page's (kind, id) and the procedure codes it cites, from its markers."""
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(HEAD_CHARS)
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None, []
    subject = _SUBJECT_META.search(head)
    cites = _CITES_META.search(head)
    codes = [c for c in unescape(cites.group(1)).split("|") if c] if cites else []
    return ((subject.group(1), unescape(subject.group(2))) if subject else None), codes


# -- addresses the public takes along ---------------------------------------------------


def page_url(portal_url: str, kind: str, subject_id: str) -> str:
    """A procedure's or a decision's page at the portal's public address."""
    folder = "thu-tuc" if kind == "procedure" else "quyet-dinh"
    return f"{portal_url.rstrip('/')}/{folder}/{page_name(subject_id)}.html"


# The blank border a reader needs around a QR code, in modules (ISO/IEC 18004: four).
QR_QUIET_ZONE = 4


# A code's address never changes, so its QR code is drawn once per worker: ~3 KB each, room
# for a catalogue of 16,384 procedures (~50 MB), which a worker's first run fills. zint (C)
# encodes one in ~0.2 ms (~0.5 ms with our SVG), weighing the eight masks as ISO/IEC 18004
# asks; segno (pure Python) took ~3.5 ms, 3.5 s of the centre's run for a decision of 1,000
# new procedures, and 45 % of its time under load before this cache.
@functools.lru_cache(maxsize=16384)
def qr_svg(url: str) -> str:
    """`url` as a QR code (level M) in inline SVG, sized by its container; remembered."""
    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.QRCODE
    symbol.option_1 = 2  # error correction level M: ~15 % of a smudged print recovered
    symbol.encode(url.encode("utf-8"))
    symbol.buffer_vector()
    unit = symbol.vector.width / symbol.width  # the vector's units per module
    # The dark modules as rectangles (zint joins neighbours), in whole modules.
    dark = "".join(
        f"M{x} {y}h{w}v{h}h-{w}z"
        for x, y, w, h in (
            (round(r.x / unit), round(r.y / unit), round(r.width / unit), round(r.height / unit))
            for r in symbol.vector.rectangles
        )
    )
    size = symbol.width + 2 * QR_QUIET_ZONE
    return (
        f'<svg viewBox="0 0 {size} {size}" class="qr-code" shape-rendering="crispEdges">'
        f"<title>Mã QR: {escape(url)}</title>"
        f'<path transform="translate({QR_QUIET_ZONE} {QR_QUIET_ZONE})" fill="#000" d="{dark}"/></svg>'
    )
