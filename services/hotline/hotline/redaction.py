"""Personal data out of text meant for the public: names, phones, emails, ID numbers, marked strings.

Plain functions, no framework. Matching is case- and accent-insensitive for names and
marks ("Nguyen Van An" finds "Nguyễn Văn An"), and each removed span becomes
PLACEHOLDER. Over-redaction is the safe side: a 9-digit amount written without
separators is taken for an identity number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

PLACEHOLDER = "[đã ẩn]"

_D = str.maketrans({"đ": "d", "Đ": "D"})

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+\s*@\s*[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

# A run of digits with the separators people write inside phone and ID numbers:
# spaces, dots, dashes, parentheses, a leading +. Split into chunks at spaces,
# then the longest run of chunks that reads as a phone or ID number is removed.
_NUMBER_RUN = re.compile(r"(?<![\w+])\+?\(?\+?\d[\d\s.\-()]*\d\)?(?!\w)|(?<![\w+])\d(?!\w)")
_MONEY = re.compile(r"[1-9]\d{0,2}(?:[.,]\d{3})+")
_MAX_CHUNKS = 6


def _fold_char(c: str) -> str:
    decomposed = unicodedata.normalize("NFD", c.translate(_D))
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return base if len(base) == 1 else c


def _folded(text: str) -> str:
    """Folded text of the same length as `text` (NFC), so positions carry over."""
    return "".join(_fold_char(c) for c in text)


def _is_phone_or_id(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    stripped = candidate.strip("()+")
    if _MONEY.fullmatch(stripped):
        return False  # 150.000.000 is an amount of dong, not a number to hide
    if digits.startswith("84") and len(digits) in (11, 12):
        return True  # +84 912 345 678, 84912345678, +84 24 3826 1234
    if digits.startswith("0") and len(digits) in (10, 11):
        return True  # 0912 345 678, (024) 3826 1234, 0227 3831 234
    compact = re.fullmatch(r"\d+", candidate) is not None or re.fullmatch(r"[\d ]+", candidate) is not None
    return compact and len(digits) in (9, 12)  # CMND (9) and CCCD (12) numbers


def _phone_and_id_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for run in _NUMBER_RUN.finditer(text):
        chunks = [(m.start() + run.start(), m.end() + run.start()) for m in re.finditer(r"\S+", run.group())]
        i = 0
        while i < len(chunks):
            best = -1
            for j in range(i, min(i + _MAX_CHUNKS, len(chunks))):
                if _is_phone_or_id(text[chunks[i][0] : chunks[j][1]]):
                    best = j
            if best >= 0:
                spans.append((chunks[i][0], chunks[best][1]))
                i = best + 1
            else:
                i += 1
    return spans


def _literal_pattern(value: str) -> re.Pattern[str] | None:
    words = _folded(unicodedata.normalize("NFC", value)).split()
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    start = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    end = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return re.compile(start + body + end)


@dataclass(frozen=True)
class Redactor:
    """What to remove for one ticket: the submitter's name and contact, the officer's marks."""

    names: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()
    placeholder: str = PLACEHOLDER
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Longest first, so a full name goes before a mark that is part of it.
        literals = sorted({v for v in (*self.names, *self.marks) if v and v.strip()}, key=len, reverse=True)
        patterns = tuple(p for p in (_literal_pattern(v) for v in literals) if p is not None)
        object.__setattr__(self, "_patterns", patterns)

    def spans(self, text: str) -> list[tuple[int, int]]:
        folded = _folded(text)
        found = [(m.start(), m.end()) for m in EMAIL.finditer(text)]
        for pattern in self._patterns:
            found.extend((m.start(), m.end()) for m in pattern.finditer(folded))
        found.extend(_phone_and_id_spans(text))
        return _merge(found)

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        out: list[str] = []
        last = 0
        for start, end in self.spans(text):
            out.append(text[last:start])
            out.append(self.placeholder)
            last = end
        out.append(text[last:])
        return "".join(out)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact(text: str, *, names: Iterable[str] = (), marks: Iterable[str] = ()) -> str:
    """`text` with every piece of personal data replaced by PLACEHOLDER."""
    return Redactor(names=tuple(names), marks=tuple(marks))(text)
