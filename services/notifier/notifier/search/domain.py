"""What a search is, without any framework: the kinds it groups by, the query's terms, the
FTS5 expression they make, and where a result's text shows the words it matched.

Everything is compared folded (minhbach_shared.text.fold: lower case, no diacritics,
đ -> d), so "giay phep" finds "Giấy phép" and "Đăng ký" finds "dang ky". A word, a
procedure code or a document number is a run of letters and digits; "61/2018/NĐ-CP",
"MB.XD.006" and "1.009972" become phrases of their parts ("61 2018 nd cp"), so
"61/2018" finds the decree and no other document that merely mentions 61 and 2018.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Set
from dataclasses import dataclass, field

from minhbach_shared.text import fold, nfc

_WORD = re.compile(r"[0-9a-z]+")
MAX_TERMS = 12
# A one-letter typo is forgiven in words this long: shorter words have too many neighbours
# ("xay" is one letter from "nay", "hay", "may"...).
TYPO_MIN_LENGTH = 5


@dataclass(frozen=True)
class Kind:
    code: str
    title: str  # the group's heading on the results page


# In the order the results page shows its groups.
KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind("procedure", "Thủ tục hành chính"),
        Kind("document", "Văn bản chỉ đạo, pháp luật"),
        Kind("decision", "Quyết định công bố thủ tục"),
        Kind("article", "Tin bài, sáng kiến, tài liệu cải cách hành chính"),
        Kind("answer", "Hỏi đáp, phản ánh kiến nghị"),
    )
}


@dataclass(frozen=True)
class SearchDocument:
    """One disclosed thing as the search shows it; `url` is relative to the portal's root."""

    kind: str
    id: str
    url: str
    title: str
    code: str = ""  # a procedure's code, a document's or decision's number
    meta: str = ""  # one short line under the title: the field, the date, the issuer
    text: str = ""  # the rest of what the page says, searched and quoted from

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Term:
    """One thing the query asks for: a word, or a phrase (a code's or a number's parts).
    `alternatives`: words of the index one letter away from a word the index lacks."""

    parts: tuple[str, ...]
    alternatives: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        return self.parts + self.alternatives


@dataclass(frozen=True)
class Query:
    text: str  # as typed, NFC
    terms: tuple[Term, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def code_key(self) -> str:
        """The whole query as a code compares: "MB.XD.006" and "mb xd 006" -> "mbxd006"."""
        return code_key(self.text)

    @property
    def corrected(self) -> dict[str, tuple[str, ...]]:
        """Each misspelt word -> the words it was taken for."""
        return {t.parts[0]: t.alternatives for t in self.terms if t.alternatives}

    def with_alternatives(self, alternatives: dict[str, tuple[str, ...]]) -> Query:
        terms = tuple(
            Term(t.parts, alternatives.get(t.parts[0], ())) if len(t.parts) == 1 else t for t in self.terms
        )
        return Query(self.text, terms)


def code_key(text: str) -> str:
    return "".join(_WORD.findall(fold(text)))


def parse_query(text: str) -> Query:
    """The terms of what a citizen typed, in order, each once; FTS5 syntax becomes words."""
    text = nfc(text).strip()
    terms: dict[tuple[str, ...], None] = {}
    for chunk in fold(text).split():
        parts = tuple(_WORD.findall(chunk))
        if parts:
            terms[parts] = None
    return Query(text, tuple(Term(parts) for parts in list(terms)[:MAX_TERMS]))


def long_words(query: Query) -> list[str]:
    """The query's single words long enough for a slip of one letter to be guessed."""
    return [t.parts[0] for t in query.terms if len(t.parts) == 1 and len(t.parts[0]) >= TYPO_MIN_LENGTH]


def typo_candidates(query: Query, known: Set[str]) -> list[str]:
    """The query's long single words the index has never seen: each may be a typo."""
    return [word for word in long_words(query) if word not in known]


def _quoted(words: tuple[str, ...]) -> str:
    return '"' + " ".join(words) + '"'  # words are [0-9a-z]+: nothing to escape


def match_expression(query: Query, *, columns: str | None = None) -> str:
    """The FTS5 MATCH string: every term must match (a phrase in order, a word or one of
    its alternatives); `columns` (e.g. "{code title}") limits where."""
    parts = []
    for term in query.terms:
        options = [_quoted(term.parts)] + [_quoted((a,)) for a in term.alternatives]
        parts.append(options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")")
    expression = " AND ".join(parts)
    return f"{columns} : ({expression})" if columns else expression


def numbers_expression(query: Query) -> str | None:
    """The query's codes and numbers (its phrases) as a match on the `code` column: a
    document whose own number was typed ranks above one that cites it. None: no phrase."""
    phrases = [t for t in query.terms if len(t.parts) > 1]
    if not phrases:
        return None
    return "{code} : (" + " AND ".join(_quoted(t.parts) for t in phrases) + ")"


# --- where the words are in a text ----------------------------------------------------


Segment = tuple[str, bool]  # a piece of the original text, and whether it is a match


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    return fold(char)  # a text has few distinct characters: fold each once


def _folded_with_positions(text: str) -> tuple[str, list[int]]:
    """`text` folded one character at a time, and for each folded character the index of
    the original character it came from (so a match maps back onto the text as written)."""
    folded: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(text):
        for f in _fold_char(char):
            folded.append(f)
            origin.append(i)
    return "".join(folded), origin


def _match_spans(text: str, words: set[str]) -> list[tuple[int, int]]:
    """Spans of `text` (original indices) whose folded word is one of `words`."""
    folded, origin = _folded_with_positions(text)
    spans = []
    for m in _WORD.finditer(folded):
        if m.group() in words:
            spans.append((origin[m.start()], origin[m.end() - 1] + 1))
    return spans


def query_words(query: Query) -> set[str]:
    return {w for t in query.terms for w in t.words}


def highlight(text: str, query: Query) -> list[Segment]:
    """`text` cut into pieces, the matched words marked (the template wraps them in <mark>)."""
    return _segments(text, _match_spans(text, query_words(query)), 0, len(text))


def snippet(text: str, query: Query, *, width: int = 220) -> list[Segment]:
    """About `width` characters of `text` around its first match, cut between words, with
    "…" where it was cut; the text's start when nothing matches there."""
    spans = _match_spans(text, query_words(query))
    if len(text) <= width:
        return _segments(text, spans, 0, len(text))
    centre = spans[0][0] if spans else 0
    start = max(0, centre - width // 3)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    # Cut at spaces, not inside a word.
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < centre else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > (spans[0][1] if spans else start) else end
    pieces = _segments(text, spans, start, end)
    if start > 0:
        pieces.insert(0, ("… ", False))
    if end < len(text):
        pieces.append((" …", False))
    return pieces


def _segments(text: str, spans: list[tuple[int, int]], start: int, end: int) -> list[Segment]:
    out: list[Segment] = []
    at = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        if s > at:
            out.append((text[at:s], False))
        out.append((text[s:e], True))
        at = e
    if at < end:
        out.append((text[at:end], False))
    return out
