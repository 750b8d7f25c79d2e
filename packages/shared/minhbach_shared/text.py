"""Vietnamese text helpers: NFC everywhere, accent folding for search and slugs."""

from __future__ import annotations

import re
import unicodedata

# No Unicode decomposition turns đ into d: it is a letter of its own.
_D = str.maketrans({"đ": "d", "Đ": "D"})
_NON_WORD = re.compile(r"[^0-9a-z]+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _fold_by_character(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).lower()


def _ascii_folds() -> dict[int, str]:
    """Each Latin letter with marks (Vietnamese's among them) -> its folded ASCII letters."""
    table: dict[int, str] = {}
    for block in (range(0xC0, 0x250), range(0x1E00, 0x1F00)):
        for point in block:
            folded = _fold_by_character(chr(point))
            if folded and folded.isascii():
                table[point] = folded
    return table


_ASCII_FOLDS = _ascii_folds()


def _kept_as_they_are() -> str:
    """Punctuation and symbols beyond ASCII that fold leaves as they are, alone or in any
    text (·, –, “, …, →, ≥, ², ₫): no letters, nothing that decomposes or combines."""
    kept = []
    for point in [*range(0x80, 0x250), *range(0x2000, 0x2C00)]:
        c = chr(point)
        if point in _ASCII_FOLDS or c.isalpha() or unicodedata.combining(c):
            continue
        if unicodedata.normalize("NFD", c) == c and _fold_by_character(c) == c:
            kept.append(c)
    return "".join(kept)


_KEPT_CHARACTERS = _kept_as_they_are()
_NEEDS_THE_LONG_WAY = re.compile(f"[^\x00-\x7f{re.escape(_KEPT_CHARACTERS)}]")


def fold(text: str) -> str:
    """Lower-case, strip every diacritic (both marks of ế, ậ, ...), đ -> d."""
    # One C pass over the table when the text is Vietnamese in composed form (what NFC
    # input is), with ASCII and the punctuation fold keeps: the same result in two fifths
    # of the time; a procedure's whole text is folded each time it is saved or shown (and
    # its search text is joined by " · "). Anything else (marks apart, other scripts) the
    # long way.
    quick = text.translate(_ASCII_FOLDS)
    if quick.isascii() or _NEEDS_THE_LONG_WAY.search(quick) is None:
        return quick.lower()
    return _fold_by_character(text)


def slugify(text: str, *, max_length: int = 80) -> str:
    """`Hoạt động xây dựng` -> `hoat-dong-xay-dung`."""
    slug = _NON_WORD.sub("-", fold(text)).strip("-")
    return slug[:max_length].rstrip("-") or "-"
