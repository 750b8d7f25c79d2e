"""Vietnamese text helpers: NFC everywhere, accent folding for search and slugs."""

from __future__ import annotations

import re
import unicodedata

# No Unicode decomposition turns đ into d: it is a letter of its own.
_D = str.maketrans({"đ": "d", "Đ": "D"})
_NON_WORD = re.compile(r"[^0-9a-z]+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case, strip every diacritic (both marks of ế, ậ, ...), đ -> d."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).lower()


def slugify(text: str, *, max_length: int = 80) -> str:
    """`Hoạt động xây dựng` -> `hoat-dong-xay-dung`."""
    slug = _NON_WORD.sub("-", fold(text)).strip("-")
    return slug[:max_length].rstrip("-") or "-"
