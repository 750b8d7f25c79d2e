"""The procedures as a channel last rendered them, kept across runs and updated by what changed.

The portal's lists (every procedure in force, each field)
and the centre's board show every procedure: rebuilding them from the whole read model on
every run made the cost of one change grow with the catalogue. A channel keeps one
Catalogue: each run hands it the read model, the Catalogue asks the model which subjects
changed since the snapshot it saw last (ReadModel.changed_since) and updates only those
procedures' views, their rendered rows and the groupings, and says which lists changed.
A list page is then the join of rows already rendered. A model it cannot relate to its
last one (another process's cache, a first run) rebuilds everything, as before.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import itertools
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from markupsafe import Markup

from minhbach_shared.text import fold
from notifier.channels.base import ReadModel
from notifier.channels.pages import page_name
from notifier.channels.views.procedures import ProcedureViews
from notifier.disclosure.domain import SubjectKey

# A rendered row of one procedure, for one kind of list (the name is the caller's).
RowRenderer = Callable[[dict[str, Any]], str]


@dataclass
class Refresh:
    """What one update changed."""

    full: bool
    # Every subject key the model changed (all kinds), as the model said; None on a rebuild.
    keys: set[SubjectKey] | None
    # Procedures whose view changed, added or gone.
    codes: set[str] = field(default_factory=set)
    # Fields one of whose in-force rows (of any renderer) changed, or whose members did.
    fields: set[str] = field(default_factory=set)
    # Renderers with a row that changed, or whose set of in-force procedures did.
    lists: set[str] = field(default_factory=set)

    def touched(self, kind: str) -> bool:
        """Whether a subject of `kind` changed (always, on a rebuild)."""
        return self.keys is None or any(k == kind for k, _ in self.keys)

    def touched_key(self, key: SubjectKey) -> bool:
        return self.keys is None or key in self.keys


class PageRange(NamedTuple):
    name: str
    first: str  # its first code
    last: str

    @property
    def label(self) -> str:
        """What a reader sees of it: "Từ mã MB.XD.008 đến mã MB.XD.011", or "Mã MB.XD.007"."""
        return f"Từ mã {self.first} đến mã {self.last}" if self.last != self.first else f"Mã {self.first}"


@dataclass(frozen=True)
class ListPage:
    """One page of a paged list of procedures: its file name, its codes, its neighbours;
    the first page also the list's size and, when there are more pages, each one's range."""

    name: str
    codes: list[str]
    page: int  # its place in the list, from 1: the first page is the field's own address
    previous: str | None
    next: str | None
    total: int | None = None  # the first page's alone
    contents: tuple[PageRange, ...] = ()  # the first page's alone, when there are others

    @property
    def listed(self) -> tuple[Any, ...]:
        """What it shows besides its rows' content: two pages alike here show the same rows,
        unless one of the procedures changed. A page other than the first shows nothing of
        the others but its neighbours' names, so a procedure added elsewhere leaves it be."""
        return (tuple(self.codes), self.previous, self.next, self.total, self.contents)

    @property
    def range(self) -> PageRange:
        return PageRange(self.name, self.codes[0], self.codes[-1])


@functools.cache  # one hash per code, not one per code per run (~0.5 ms a field of 2,000)
def opens_page(code: str, size: int) -> bool:
    """Whether `code` may begin a page of a list paged by about `size`: one code in about
    size/2, from the code alone (a hash that is the same in every process, and spreads
    codes that differ in one digit)."""
    digest = hashlib.blake2b(code.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (size - max(1, size // 2) + 1) == 0


def paged(codes: Sequence[str], size: int, stem: str) -> list[ListPage]:
    """`codes` (in order) in pages of about `size`, each from size/2 to 3 x size long but
    the last. A page begins at a code that opens_page picks, once the page before holds
    size/2, or when it would hold more than 3 x size (rare: about one page in 150).

    Where the pages break depends on the codes, not on their positions: a code added or
    removed changes its own page (and, when it opens or closes a page, or its page is
    at its longest, the one or two beside it); the pages after those keep their names
    and rows (in tests/unit/test_list_pages.py, nine changes in ten touch one page, and
    none more than six). Paged by position, every later page's rows moved by one. The
    first page is `<stem>.html`, the others `<stem>-tu-<their first code>.html`."""
    least, most = max(1, size // 2), 3 * size
    starts = [0]
    i = least
    while i < len(codes):
        if i - starts[-1] >= most or opens_page(codes[i], size):
            starts.append(i)
            i += least
        else:
            i += 1
    ends = [*starts[1:], len(codes)]
    names = [
        f"{stem}.html" if n == 0 else f"{stem}-tu-{page_name(codes[s])}.html" for n, s in enumerate(starts)
    ]
    pages = [
        ListPage(
            name=names[n],
            codes=list(codes[s:e]),
            page=n + 1,
            previous=names[n - 1] if n > 0 else None,
            next=names[n + 1] if n + 1 < len(names) else None,
        )
        for n, (s, e) in enumerate(zip(starts, ends, strict=True))
    ]
    # The first page counts the list and, past one page, leads to each page by its range.
    contents = tuple(p.range for p in pages) if len(pages) > 1 else ()
    pages[0] = dataclasses.replace(pages[0], total=len(codes), contents=contents)
    return pages


class FieldPages:
    """A channel's field lists in pages (paged), each paged again only when its field's
    codes changed: a run asks for every field's page names, and paging every field each
    run grew with the catalogue."""

    def __init__(self, size: int, stem: Callable[[str], str]) -> None:
        self.size, self.stem = size, stem
        self._pages: dict[str, tuple[int, list[ListPage]]] = {}

    def of(self, field: dict[str, Any]) -> list[ListPage]:
        """The pages of a field as Catalogue.fields gives it (its slug follows from its name)."""
        kept = self._pages.get(field["name"])
        if kept is None or kept[0] != field["stamp"]:
            kept = (field["stamp"], paged(field["procedures"], self.size, self.stem(field["slug"])))
            self._pages[field["name"]] = kept
        return kept[1]

    def names(self, field: dict[str, Any]) -> list[str]:
        return [page.name for page in self.of(field)]


# Every SortedKeys' stamp is new at each change, among all of them: (field, stamp) says
# which codes a field had, whatever was reset in between.
_stamps = itertools.count(1)


class SortedKeys:
    """Keys kept in order, with insertion and removal by bisection (no re-sort per run)."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self.items: list[Any] = sorted(items)
        self.stamp = next(_stamps)

    def add(self, item: Any) -> None:
        i = bisect.bisect_left(self.items, item)
        if i == len(self.items) or self.items[i] != item:
            self.items.insert(i, item)
            self.stamp = next(_stamps)

    def discard(self, item: Any) -> None:
        i = bisect.bisect_left(self.items, item)
        if i < len(self.items) and self.items[i] == item:
            del self.items[i]
            self.stamp = next(_stamps)

    def __len__(self) -> int:
        return len(self.items)


_NO_MEMBERS = SortedKeys()  # a field none of whose procedures is in force (never changed)


class Timeline:
    """Dated items from many owners, newest first on demand; an owner's items are replaced whole.

    `sort_key(item)` orders them (ascending: the newest is the largest); keys must be
    unique and comparable.
    """

    def __init__(self, sort_key: Callable[[Any], tuple[Any, ...]]) -> None:
        self.sort_key = sort_key
        self._order = SortedKeys()
        self._items: dict[tuple[Any, ...], Any] = {}
        self._of_owner: dict[Hashable, list[tuple[Any, ...]]] = {}

    def replace(self, owner: Hashable, items: Iterable[Any]) -> None:
        for key in self._of_owner.pop(owner, []):
            self._order.discard(key)
            self._items.pop(key, None)
        keys = []
        for item in items:
            key = self.sort_key(item)
            self._order.add(key)
            self._items[key] = item
            keys.append(key)
        if keys:
            self._of_owner[owner] = keys

    def newest(self, count: int) -> list[Any]:
        return [self._items[k] for k in reversed(self._order.items[-count:])] if count > 0 else []


class Catalogue:
    """Every procedure's view and rows, grouped by field, as of the channel's last run."""

    def __init__(self, views: ProcedureViews, rows: Mapping[str, RowRenderer]) -> None:
        self.views_cache = views
        self.renderers = dict(rows)
        self._source: object = None
        self._generation: int | None = None
        self.reset()

    def reset(self) -> None:
        self.views: dict[str, dict[str, Any]] = {}
        self.names: dict[str, str] = {}
        self.rows: dict[str, dict[str, str]] = {name: {} for name in self.renderers}
        # field name -> its in-force codes in order; every field of any procedure -> slug.
        self.members: dict[str, SortedKeys] = {}
        self.field_count: dict[str, int] = {}
        self.slugs: dict[str, str] = {}
        self.in_force = SortedKeys()
        self._replacing: dict[str, set[str]] = {}  # code -> the codes it replaced
        # A digest of (code, version, status) of every procedure: XOR of each one's, so a
        # change costs one XOR out and one in (the centre's board stamp).
        self._digests: dict[str, int] = {}
        self.digest = 0

    # -- updating -----------------------------------------------------------------------

    def invalidate(self) -> None:
        """Forget which snapshot was rendered: the next refresh rebuilds (a run that failed
        to write its lists must not leave the next one thinking they are current)."""
        self._source, self._generation = None, None

    def refresh(self, model: ReadModel) -> Refresh:
        changed = model.changed_since(self._source, self._generation)
        if changed is None:
            self.reset()
            codes = {s.id for s in model.of_kind("procedure")}
            refresh = Refresh(full=True, keys=None)
        else:
            codes = {i for k, i in changed if k == "procedure"}
            refresh = Refresh(full=False, keys=changed)
        # A changed procedure may be renamed: the views of those it replaced name it. (Their
        # views are cached by the name: an unchanged one comes back as the same object.)
        for code in list(codes):
            codes |= self._replacing.get(code, set())
        for code in codes:
            subject = model.get(("procedure", code))
            if subject is None:
                self.names.pop(code, None)
            else:
                self.names[code] = str(subject.state.get("name") or "")
        for code in sorted(codes):
            subject = model.get(("procedure", code))
            view = self.views_cache(subject, self.names) if subject is not None else None
            self._put(code, view, refresh)
        self._source, self._generation = model.source, model.generation
        return refresh

    def _put(self, code: str, view: dict[str, Any] | None, refresh: Refresh) -> None:
        old = self.views.get(code)
        if view is old:
            return
        refresh.codes.add(code)
        if old is not None:
            replaced = old.get("replaced_by")
            if replaced:
                self._replacing.get(replaced, set()).discard(code)
            self.field_count[old["field"]] -= 1
            if old["in_force"]:
                # Out of its field's members only if it leaves them: a member taken out and
                # put back changed the field's stamp, and its pages were paged again.
                if view is None or not view["in_force"] or view["field"] != old["field"]:
                    self.members[old["field"]].discard(code)
                    self.in_force.discard(code)
                refresh.fields.add(old["field"])
        if view is None:
            self.views.pop(code, None)
            for rows in self.rows.values():
                if rows.pop(code, None) is not None:
                    refresh.lists.update(self.renderers)
            self._digest(code, None)
            return
        self.views[code] = view
        if view.get("replaced_by"):
            self._replacing.setdefault(view["replaced_by"], set()).add(code)
        self.field_count[view["field"]] = self.field_count.get(view["field"], 0) + 1
        self.slugs[view["field"]] = view["field_slug"]
        for name, render in self.renderers.items():
            row = render(view)
            if self.rows[name].get(code) != row:
                self.rows[name][code] = row
                if view["in_force"] or (old is not None and old["in_force"]):
                    refresh.lists.add(name)
                    refresh.fields.add(view["field"])
        if view["in_force"]:
            self.members.setdefault(view["field"], SortedKeys()).add(code)
            self.in_force.add(code)
            if old is None or not old["in_force"] or old["field"] != view["field"]:
                refresh.fields.add(view["field"])
                refresh.lists.update(self.renderers)
        elif old is not None and old["in_force"]:
            refresh.lists.update(self.renderers)
        self._digest(code, view)

    def _digest(self, code: str, view: dict[str, Any] | None) -> None:
        self.digest ^= self._digests.pop(code, 0)
        if view is not None:
            raw = f"{code}\x00{view['version']}\x00{view['status']}".encode()
            one = int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")
            self._digests[code] = one
            self.digest ^= one

    # -- reading --------------------------------------------------------------------------

    def fields(self) -> list[dict[str, Any]]:
        """Every field of any procedure, by name as Vietnamese sorts: its in-force codes
        (and their stamp, which changes with them)."""
        fields = []
        for name in sorted((n for n, count in self.field_count.items() if count > 0), key=fold):
            members = self.members.get(name, _NO_MEMBERS)
            fields.append(
                {"name": name, "slug": self.slugs[name], "procedures": members.items, "stamp": members.stamp}
            )
        return fields

    def joined(self, renderer: str, codes: Iterable[str]) -> Markup:
        """The rows of `codes`, rendered once each (when their procedure last changed), joined."""
        rows = self.rows[renderer]
        # Safe: each row is what an autoescaping template rendered (Catalogue's renderers).
        return Markup("\n".join(rows[c] for c in codes))  # noqa: S704
