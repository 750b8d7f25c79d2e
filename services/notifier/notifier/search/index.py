"""The search index: one SQLite file (FTS5) the portal channel writes and the search reads.

It lives in the portal's directory (`.search/index.sqlite3`; nginx serves nothing whose
path has a dot-folder), beside the pages it indexes, so it is host-bound state like them
and is rebuilt with them (a wiped portal, a restore). WAL mode: the one writer (the
portal run, under the channel's lock) never waits for readers, and readers see either
the run before or the run after, never half of one. Readers open it read-only.

The FTS5 table holds folded text (code, title, body); `docs` holds what a result shows,
as written. Ranking, per kind: the exact code or number first, then the
documents whose own number holds the numbers typed, then every word in the code or
title, then bm25 with the code and title weighing far more than the body.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from minhbach_shared.text import fold
from notifier.search.domain import (
    KINDS,
    Kind,
    Query,
    SearchDocument,
    code_key,
    long_words,
    match_expression,
    numbers_expression,
    typo_candidates,
)

INDEX_PATH = Path(".search") / "index.sqlite3"
# bm25 weights of (code, title, body, kind).
WEIGHTS = (8.0, 10.0, 1.0, 0.0)
# The `kind` column holds one word per document ("kprocedure"): matching it narrows the
# search to one kind inside the index, so ranking one kind costs what that kind matches.
KIND_WORD = "k{}"
# A new layout: an index written by an older version is rebuilt, not read wrongly.
LAYOUT = 2
MAX_TYPO_ALTERNATIVES = 3
VOCABULARY_MAX_AGE_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    code_key TEXT NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    code TEXT NOT NULL,
    meta TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_docs_code_key ON docs (code_key);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(code, title, body, kind, tokenize = 'unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS docs_vocab USING fts5vocab(docs_fts, 'row');
"""


def index_path(portal_root: Path) -> Path:
    return Path(portal_root) / INDEX_PATH


# --- the writer (the portal channel) --------------------------------------------------


class SearchIndexWriter:
    """One connection kept across runs while the file is the one it opened: a portal wiped
    (or restored) between runs gets a new file, never writes to a deleted one."""

    def __init__(self, portal_root: Path) -> None:
        self.path = index_path(portal_root)
        self._db: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the file it opened
        self._verified: tuple[int, int] | None = None  # ... and of one known to be of LAYOUT

    def _identity(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (found.st_dev, found.st_ino)

    def exists(self) -> bool:
        """An index of this layout is there (else the next run rebuilds it); a stat call,
        unless the file is new since it was last looked at."""
        identity = self._identity()
        if identity is None:
            return False
        if identity == self._verified:
            return True
        try:
            connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                (layout,) = connection.execute("PRAGMA user_version").fetchone()
            finally:
                connection.close()
        except sqlite3.DatabaseError:
            return False
        if layout != LAYOUT:
            return False
        self._verified = identity
        return True

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        identity = self._identity()
        if self._db is not None and (identity is None or identity != self._file):
            self.close()
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            try:
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
                (layout,) = connection.execute("PRAGMA user_version").fetchone()
                if layout != LAYOUT:
                    # Written by another version: start it again (the run rebuilds it whole).
                    for table in ("docs_vocab", "docs_fts", "docs"):
                        connection.execute(f"DROP TABLE IF EXISTS {table}")
                    connection.execute(f"PRAGMA user_version = {LAYOUT}")
                connection.executescript(SCHEMA)
            except BaseException:
                connection.close()
                raise
            self._db, self._file = connection, self._identity()
        try:
            yield self._db
        except sqlite3.DatabaseError:
            self.close()  # opened again by the next run
            raise

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db, self._file = None, None

    def apply(
        self, upserts: Iterable[SearchDocument], removals: Iterable[str] = (), *, replace_all: bool = False
    ) -> None:
        """In one transaction: (with `replace_all`, drop everything, then) remove the keys
        in `removals` and add or replace each document of `upserts`."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if replace_all:
                    db.execute("DELETE FROM docs")
                    db.execute("DELETE FROM docs_fts")
                for key in removals:
                    self._remove(db, key)
                for doc in upserts:
                    self._upsert(db, doc)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    @staticmethod
    def _remove(db: sqlite3.Connection, key: str) -> None:
        row = db.execute("SELECT id FROM docs WHERE key = ?", (key,)).fetchone()
        if row is not None:
            db.execute("DELETE FROM docs_fts WHERE rowid = ?", row)
            db.execute("DELETE FROM docs WHERE id = ?", row)

    @staticmethod
    def _upsert(db: sqlite3.Connection, doc: SearchDocument) -> None:
        (doc_id,) = db.execute(
            """
            INSERT INTO docs (key, kind, code_key, url, title, code, meta, text)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET
                kind = excluded.kind, code_key = excluded.code_key, url = excluded.url,
                title = excluded.title, code = excluded.code, meta = excluded.meta, text = excluded.text
            RETURNING id
            """,
            (doc.key, doc.kind, code_key(doc.code), doc.url, doc.title, doc.code, doc.meta, doc.text),
        ).fetchone()
        db.execute("DELETE FROM docs_fts WHERE rowid = ?", (doc_id,))
        db.execute(
            "INSERT INTO docs_fts (rowid, code, title, body, kind) VALUES (?, ?, ?, ?, ?)",
            (
                doc_id,
                fold(doc.code),
                fold(doc.title),
                fold(f"{doc.meta} {doc.text}"),
                KIND_WORD.format(doc.kind),
            ),
        )

    def snapshot(self) -> list[tuple[str, ...]]:
        """Every document as stored and as indexed, by key: two indexes with equal snapshots
        answer every search alike (row ids aside)."""
        if not self.exists():
            return []
        with self._connection() as db:
            return db.execute(
                "SELECT d.key, d.kind, d.code_key, d.url, d.title, d.code, d.meta, d.text,"
                " f.code, f.title, f.body FROM docs d JOIN docs_fts f ON f.rowid = d.id ORDER BY d.key"
            ).fetchall()


# --- the reader (the search service) --------------------------------------------------


@dataclass(frozen=True)
class Hit:
    kind: str
    url: str
    title: str
    code: str
    meta: str
    text: str
    exact: bool


@dataclass(frozen=True)
class Group:
    kind: Kind
    total: int
    hits: list[Hit]


@dataclass(frozen=True)
class Results:
    query: Query
    groups: list[Group] = field(default_factory=list)
    # False while the portal has never been written (nothing is disclosed yet).
    ready: bool = True

    @property
    def total(self) -> int:
        return sum(g.total for g in self.groups)


# One kind's hits skip+1 .. until, best first (ranking: the module's docstring).
_RANKED = """
SELECT d.url, d.title, d.code, d.meta, d.text, d.code_key = :code AS exact
FROM (
    SELECT rowid AS id,
           {own_number} AS own_number,
           rowid IN (SELECT rowid FROM docs_fts WHERE docs_fts MATCH :title_match) AS in_title,
           bm25(docs_fts, {weights}) AS score
    FROM docs_fts
    WHERE docs_fts MATCH :match
) AS hits
JOIN docs d ON d.id = hits.id
ORDER BY d.code_key = :code DESC, hits.own_number DESC, hits.in_title DESC, hits.score, d.key
LIMIT :limit OFFSET :skip
"""
_COUNT = "SELECT count(*) FROM docs_fts WHERE docs_fts MATCH :match"


class SearchIndexReader:
    """Read-only, one connection per thread (SQLite lets the threads' queries overlap)."""

    def __init__(self, portal_root: Path, *, vocabulary_max_age_s: float = VOCABULARY_MAX_AGE_S) -> None:
        self.path = index_path(portal_root)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._vocabulary_max_age_s = vocabulary_max_age_s
        # (read at, by length, document frequency); None: not read yet.
        self._vocabulary: tuple[float, dict[int, list[str]], dict[str, int]] | None = None

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection to the file there now: a portal wiped and rebuilt has a
        new file, and a connection to the old one would go on answering from it."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        if connection is not None and getattr(self._local, "inode", None) != inode:
            connection.close()
            connection = None
        if connection is None:
            connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.connection, self._local.inode = connection, inode
        return connection

    def generation(self) -> object | None:
        """Changes whenever a run commits (the WAL grows) or checkpoints (the file does);
        None while there is no index."""
        try:
            main = os.stat(self.path)
        except FileNotFoundError:
            return None
        try:
            wal = os.stat(f"{self.path}-wal")
            wal_key: tuple[int, int] = (wal.st_mtime_ns, wal.st_size)
        except FileNotFoundError:
            wal_key = (0, 0)
        return (main.st_ino, main.st_mtime_ns, main.st_size, wal_key)

    def ready(self) -> bool:
        return self.generation() is not None

    def search(self, query: Query, *, kind: str | None = None, skip: int = 0, limit: int = 5) -> Results:
        """Per kind (or the one `kind`), hits skip+1 .. skip+limit, best first."""
        if not self.ready():
            return Results(query, ready=False)
        if query.empty:
            return Results(query)
        try:
            return self._search(query, kind=kind, skip=skip, limit=limit)
        except sqlite3.OperationalError:
            # Swapped under an open connection (the portal wiped and rebuilt): open again once.
            self._reset()
            return self._search(query, kind=kind, skip=skip, limit=limit)

    def _reset(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
        self._vocabulary = None

    def _search(self, query: Query, *, kind: str | None, skip: int, limit: int) -> Results:
        """Kind by kind: how many match (cheap), then the best of those that do."""
        query = query.with_alternatives(self._alternatives(query))
        db = self._connection()
        numbers = numbers_expression(query)
        sql = _RANKED.format(
            weights=", ".join(str(w) for w in WEIGHTS),
            own_number="rowid IN (SELECT rowid FROM docs_fts WHERE docs_fts MATCH :numbers)"
            if numbers
            else "0",
        )
        groups = []
        for code in [kind] if kind else list(KINDS):
            in_kind = f'{{kind}} : "{KIND_WORD.format(code)}"'
            match = f"({match_expression(query)}) AND {in_kind}"
            (total,) = db.execute(_COUNT, {"match": match}).fetchone()
            if not total:
                continue
            rows = db.execute(
                sql,
                {
                    "match": match,
                    "title_match": f"({match_expression(query, columns='{code title}')}) AND {in_kind}",
                    "numbers": f"({numbers}) AND {in_kind}" if numbers else None,
                    "code": query.code_key,
                    "skip": skip,
                    "limit": limit,
                },
            ).fetchall()
            hits = [
                Hit(code, url, title, c, meta, text, bool(exact)) for url, title, c, meta, text, exact in rows
            ]
            groups.append(Group(KINDS[code], total, hits))
        return Results(query, groups)

    def _alternatives(self, query: Query) -> dict[str, tuple[str, ...]]:
        """Each long word the index lacks -> the index's words one edit away, most used first."""
        if not long_words(query):  # no need to read the index's words
            return {}
        by_length, frequency = self._words()
        alternatives: dict[str, tuple[str, ...]] = {}
        for word in typo_candidates(query, frequency.keys()):
            choices = [w for n in (len(word) - 1, len(word), len(word) + 1) for w in by_length.get(n, ())]
            found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=1, limit=None)
            best = sorted(found, key=lambda f: (f[1], -frequency[f[0]], f[0]))[:MAX_TYPO_ALTERNATIVES]
            if best:
                alternatives[word] = tuple(f[0] for f in best)
        return alternatives

    def _words(self) -> tuple[dict[int, list[str]], dict[str, int]]:
        """The index's words, read again at most every `vocabulary_max_age_s`: reading them
        walks the whole index (~0.1 s at 10,000 procedures), and a word a few seconds new
        is still found as typed; only its misspellings wait."""
        vocabulary = self._vocabulary
        if vocabulary is None or time.monotonic() - vocabulary[0] > self._vocabulary_max_age_s:
            with self._lock:  # one thread reads, the others wait for it
                vocabulary = self._vocabulary
                if vocabulary is None or time.monotonic() - vocabulary[0] > self._vocabulary_max_age_s:
                    by_length: dict[int, list[str]] = {}
                    frequency: dict[str, int] = {}
                    for term, docs in self._connection().execute("SELECT term, doc FROM docs_vocab"):
                        frequency[term] = docs
                        by_length.setdefault(len(term), []).append(term)
                    vocabulary = self._vocabulary = (time.monotonic(), by_length, frequency)
        return vocabulary[1], vocabulary[2]
