"""Personal data out of text meant for the public: names, phones, e-mails, ID numbers, marked strings.

Plain functions, no framework. Two kinds of rules:

- what the ticket knows: the submitter's name and contact and the officer's marks, matched
  case- and accent-insensitively ("Nguyen Van An" finds "Nguyễn Văn An"), and the
  submitter's given name after a title ("chị Hương");
- what a pattern recognises: phone numbers in every Vietnamese form (glued to "sdt" too),
  12-digit citizen and 9-digit old ID numbers (plain, spaced, dotted, dashed), passport
  numbers, dates of birth (the date after "sinh ngày", "năm sinh"...), e-mail addresses
  (also written "(at)", "a còng", "chấm"), vehicle plates, house and alley numbers
  ("số nhà 25", "số 12 ngõ 34", "ngách 12/34") and a full name after a title or a label
  ("ông Nguyễn Văn An", "Họ và tên: Lê Thị Mai").

Each removed span becomes PLACEHOLDER; the words around it ("SĐT", "số nhà", "ông") stay.
Over-redaction is the safe side: a 9- or 12-digit number is an ID number unless a currency
word follows it ("123.456.789 đồng" is an amount). What no pattern can know (a village, a
shop, a given name alone) is for the officer's marks. Every pattern is compiled once and
matches in time linear in the text (texts are up to 10,000 characters, on every request).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

PLACEHOLDER = "[đã ẩn]"

_D = str.maketrans({"đ": "d", "Đ": "D"})

Span = tuple[int, int]


@functools.cache
def _fold_char(c: str) -> str:
    decomposed = unicodedata.normalize("NFD", c.translate(_D))
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return base if len(base) == 1 else c


def _folded(text: str) -> str:
    """Folded text of the same length as `text` (NFC), so positions carry over."""
    return "".join(_fold_char(c) for c in text)


def _fold(word: str) -> str:
    return _folded(unicodedata.normalize("NFC", word))


# ---------------------------------------------------------------------------------------
# E-mail addresses. The lookbehind starts a match only where a local part begins, so a
# long run of letters without "@" is scanned once, not once per letter.
EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+\s*@\s*[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)

# Written so a harvester misses it: "an.nguyen (at) gmail.com", "a còng gmail chấm com",
# "[at]", "AT ... DOT", "@ gmail . com". Matched on the folded text (lower case, no
# accents); the address must end in a common top-level domain, so ordinary words
# around " at " or " chấm " are never taken for one.
_AT = r"(?:\s*@\s*|\s*[(\[{<]\s*(?:at|@|a\s*cong)\s*[)\]}>]\s*|\s+(?:at|a\s*cong)\s+)"
_DOT = r"(?:\s*\.\s*|\s*[(\[{<]\s*(?:dot|cham|\.)\s*[)\]}>]\s*|\s+(?:dot|cham)\s+)"
_TLD = r"(?:com|net|org|edu|gov|info|biz|vn|io|me|co|us|uk|jp|kr|cn|fr|de|au|sg)"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![a-z0-9._%+\-])[a-z0-9._%+\-]+{_AT}[a-z0-9\-]+(?:{_DOT}[a-z0-9\-]+)*{_DOT}{_TLD}(?![a-z0-9])"
)

# ---------------------------------------------------------------------------------------
# Phone and ID numbers. A run of digits with the separators people write inside them:
# spaces, dots, dashes, parentheses, a leading +. It may follow letters ("sdt0912345678",
# "CCCD034085001234") but never a digit, so each run is found once. The run is split
# into chunks at spaces, and the longest run of chunks that reads as a phone or an ID
# number is removed.
_NUMBER_RUN = re.compile(r"(?<![\d+])\+?\(?\+?\d[\d\s.\-()]*\d\)?(?!\w)")
_MONEY = re.compile(r"[1-9]\d{0,2}(?:[.,]\d{3})+")
# ID numbers as written in groups: 034.085.001.234, 001-234-567-890, 123.456.789, 0340 8500 1234.
_SEP = r"(?:\s*[.\-]\s*|\s+)"
_ID_GROUPS = re.compile(
    rf"\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}(?:{_SEP}\d{{3}})?|\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}"
)
# What makes a dotted number an amount: a currency word after it, or after the end of a
# range ("100.000.000 - 120.000.000 đồng"). Not "đồng thời", "đồng ý"... nor "đ/c".
_CURRENCY = re.compile(
    r"\s*(?:(?:-|–|đến|tới)\s*\d[\d.,]*\s*)?(?:đồng|đ|vnđ|vnd)(?!\w)(?!/c)"
    r"(?!\s+(?:thời|ý|chí|bộ|nghiệp|hồ|sở|tình|thuận|loạt|đều|nhất|bào|phục|lòng|hành|tâm)(?!\w))",
    re.IGNORECASE,
)
_CHUNK = re.compile(r"\S+")
_MAX_CHUNKS = 7  # 034 - 085 - 001 - 234


def _is_phone_or_id(candidate: str, following: str) -> bool:
    if not (candidate[-1].isdigit() or candidate[-1] == ")"):
        return False
    digits = re.sub(r"\D", "", candidate)
    stripped = candidate.strip("()+")
    if _MONEY.fullmatch(stripped) and (_CURRENCY.match(following) or not _ID_GROUPS.fullmatch(stripped)):
        return False  # 150.000 đồng, 1.500.000, 123.456.789 đồng: amounts of money
    if digits.startswith("84") and len(digits) in (11, 12):
        return True  # +84 912 345 678, 84912345678, +84 24 3826 1234
    if digits.startswith("0") and len(digits) in (10, 11):
        return True  # 0912 345 678, (024) 3826 1234, 0227 3831 234
    if re.fullmatch(r"[\d\s]+", candidate):
        return len(digits) in (9, 12)  # CMND (9) and CCCD (12) numbers, plain or spaced
    return _ID_GROUPS.fullmatch(candidate) is not None  # dotted or dashed in groups


def _phone_and_id_spans(text: str) -> Iterator[Span]:
    for run in _NUMBER_RUN.finditer(text):
        if sum(ch.isdigit() for ch in run.group()) < 9:
            continue  # a date, an amount, a code: too short for any phone or ID number
        chunks = [(m.start() + run.start(), m.end() + run.start()) for m in _CHUNK.finditer(run.group())]
        counts = [sum(ch.isdigit() for ch in text[s:e]) for s, e in chunks]
        i = 0
        while i < len(chunks):
            start, best, digits = chunks[i][0], -1, 0
            for j in range(i, min(i + _MAX_CHUNKS, len(chunks))):
                digits += counts[j]
                if digits > 12:
                    break  # longer than any phone or ID number
                if digits < 9:
                    continue  # shorter than any
                end = chunks[j][1]
                if text[end - 1] == ")" and "(" not in text[start:end]:
                    end -= 1  # "(ĐT 0987 654 321)": the bracket closes the sentence's, not the number's
                if _is_phone_or_id(text[start:end], text[end : end + 40]):
                    best = end
            if best >= 0:
                yield start, best
                i = next(k for k in range(i, len(chunks)) if chunks[k][1] >= best) + 1
            else:
                i += 1


# ---------------------------------------------------------------------------------------
# Passports: one capital letter and seven digits (C1234567, "B 1234567"); after the word
# "hộ chiếu"/"passport" also lower case and foreign forms (1-2 letters, 6-9 digits).
# Lower case without the word is left: tracking tags and hex strings look the same.
_PASSPORT = re.compile(r"(?<![\w./\-])[A-Z] ?\d{7}(?!\w)(?![.,/\-]\d)")
_PASSPORT_AFTER_WORD = re.compile(
    r"(?<!\w)(?:ho\s+chieu|passport)(?:\s+so)?\s*[:.]?\s*(?P<v>[a-z]{1,2} ?\d{6,9})(?!\w)"
)

# Vehicle plates: province code, series (letters, maybe a digit), then 4-5 digits:
# 17A-123.45, 29H1-234.56, 30E-12345, 17B1 234.56, 17-B1 234.56, 17LD-001.23.
_PLATE = re.compile(
    r"(?<![\w./\-])\d{2}-?[A-Z]{1,2}\d?(?:\s*[-.]\s*|\s)?(?:\d{3}\.\d{2}|\d{4,5})(?!\w)(?![.,]\d)"
)

# Dates of birth: the date after "sinh ngày", "ngày sinh", "năm sinh", "ngày tháng năm
# sinh", "sinh năm", "(sinh 1958)", "DOB". Other dates (of documents, deadlines) stay.
# "phát sinh", "học sinh", "vệ sinh"... are other words. On the folded text.
_DATE = (
    r"(?:\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*(?:19|20)?\d{2}"  # 12/03/1985, 12-3-85
    r"|(?:19|20)\d{2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{1,2}"  # 1985-03-12
    r"|\d{1,2}\s+thang\s+\d{1,2}(?:\s*,?\s*nam\s+\d{4})?"  # 12 tháng 3 năm 1985
    r"|\d{1,2}\s*/\s*(?:19|20)\d{2}"  # 3/2015
    r"|(?:19|20)\d{2})(?!\d)"  # 1962
)
_BIRTH_DATE = re.compile(
    r"(?<!\w)(?:(?:ngay|thang|nam)(?:\s*,?\s*(?:thang|nam))*\s+sinh"
    r"|(?<!phat )(?<!hoc )(?<!ve )(?<!tai )(?<!phuc )(?<!san )(?<!hy )sinh"
    r"(?:\s+(?:vao\s+)?(?:ngay|nam|thang))?"
    r"|d\.?o\.?b\.?)"
    rf"\s*(?::\s*)?(?:la\s+)?(?P<v>{_DATE})"
)

# House and alley numbers. The number goes, the words around it stay. A street named
# without a number stays, and so does "số 12" alone (a plot, a map sheet, a decision).
_HOUSE = r"\d{1,4}[a-z]?(?:\s?[/\-]\s?\d{1,4}[a-z]?)*"  # 25, 25A, 12/34, 15B/3
_HOUSE_NUMBERS = (
    # "số nhà 25", "nhà số 17", "SN 25", "ngõ 34", "ngõ số 3", "ngách 12/34", "hẻm 45/6", "kiệt 12"
    re.compile(
        rf"(?<!\w)(?:so\s+nha|nha\s+so|sn|ngo|ngach|hem|kiet)\s*(?:so\s*)?[:.]?\s*(?P<v>{_HOUSE})(?!\w)"
    ),
    # a number before a lane or a street: "số 12 ngõ 34", "nhà 15B phố", "ở 42/7 đường"
    re.compile(
        rf"(?<!\w)(?:so|nha|o|tai|dia\s+chi)\s*[:.]?\s*(?P<v>{_HOUSE})\s*,?\s+"
        r"(?=(?:ngo|ngach|hem|kiet|duong|pho)(?!\w))"
    ),
    # "căn hộ 1203", "căn hộ số A-1203" (not "căn hộ 2 phòng ngủ")
    re.compile(r"(?<!\w)can\s+ho\s+(?:so\s*[:.]?\s*)?(?P<v>[a-z]{0,2}[.\-]?\d{3,4}[a-z]?)(?!\w)"),
)
# "ở 18 Trần Hưng Đạo", "Địa chỉ: 25 Lê Lợi": a number, then a capitalised name that is
# not an office or a part of a law ("tại 3 Phòng chuyên môn", "ở 2 Điều"...).
_NUMBER_BEFORE_NAME = re.compile(rf"(?<!\w)(?:o|tai|dia\s+chi)\s*[:.]?\s*(?P<v>{_HOUSE})\s+(?=\w)")
# fmt: off
_NOT_A_STREET = frozenset(_fold(w) for w in [
    "Phòng", "Sở", "Ban", "Bộ", "Cục", "Chi", "Ủy", "Uỷ", "UBND", "HĐND", "Trung", "Trường",
    "Điều", "Khoản", "Chương", "Mục", "Phụ", "Quyết", "Nghị", "Thông", "Luật", "Tổ", "Đội",
    "Xã", "Phường", "Huyện", "Quận", "Tỉnh", "Thành", "Thôn", "Xóm", "Ấp", "Khu", "Hội",
    "Đoàn", "Công", "Bệnh", "Nhà", "Cơ", "Doanh", "Hộ", "Tháng", "Năm", "Ngày", "Giờ", "Lần",
    "Tầng",
])
# fmt: on

# ---------------------------------------------------------------------------------------
# Names. A capitalised Vietnamese full name (2-5 words, "Nguyễn Văn An", "NGUYỄN VĂN AN",
# "Nguyen Van An") after a title or a label: answers often name a third person. To tell a
# name from an office ("Ông Giám đốc Sở", "bà Phó Giám đốc") its first word must be a
# Vietnamese family name or its second word "Văn"/"Thị"; a street named after someone
# ("phố Bà Triệu", "đường Chu Văn An") has no title before it, or a place word before it.
_UPPER = "".join(
    c for c in map(chr, range(0x41, 0x2000)) if c.isupper() and "LATIN" in unicodedata.name(c, "")
)
_LOWER = "".join(
    c for c in map(chr, range(0x61, 0x2000)) if c.islower() and "LATIN" in unicodedata.name(c, "")
)
_WORD = rf"[{re.escape(_UPPER)}](?:[{re.escape(_LOWER)}]+(?!\w)|[{re.escape(_UPPER)}]*(?!\w))"
_TITLES = (
    r"ông\s*/\s*bà|ông\s*\(\s*bà\s*\)|bà\s*/\s*ông|đồng\s+chí|đ/c|chủ\s+hộ|chủ\s+nhà|chủ\s+đầu\s+tư"
    r"|họ\s+và\s+tên|họ\s+tên|tên\s+là|tôi\s+là|em\s+là|người\s+(?:gửi|phản\s+ánh|kiến\s+nghị|liên\s+hệ)"
    r"|ông|bà|anh|chị|em|cháu|cô|chú|bác|cụ|dì|thím|mợ"
    r"|dong\s+chi|ong|ba|chi|chau|co|chu|bac|cu"  # written without accents
)
_TITLED_NAME = re.compile(rf"(?<![\w/])(?i:{_TITLES})(?:\s*:\s*|\s+)(?P<v>{_WORD}(?:[ \t]+{_WORD}){{1,4}})")
# fmt: off
_PLACE_WORDS = frozenset([
    "pho", "duong", "phuong", "quan", "huyen", "xa", "thon", "lang", "ap", "cho", "cau", "den",
    "chua", "truong", "ben", "ho", "nui", "khu", "toa", "tinh", "ngo", "hem", "kiet",
])
_FAMILY_NAMES = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Đào", "Đoàn", "Vương", "Trịnh", "Trương", "Lâm", "Phùng",
    "Mai", "Tô", "Hà", "Tạ", "Lương", "Đinh", "Cao", "Lưu", "Chu", "Châu", "Quách", "Thái",
    "Kiều", "Đàm", "La", "Lạc", "Triệu", "Tăng", "Khúc", "Khổng", "Mạc", "Từ", "Tống",
    "Nghiêm", "Ninh", "Hứa", "Kim", "Lò", "Lục", "Âu", "Giang", "Quan", "Thân", "Hàn", "Hầu",
    "Bạch", "Cù", "Diệp", "Doãn", "Hán", "Kha", "Lại", "Lã", "Lữ", "Mạnh", "Nông", "Phí",
    "Sầm", "Tôn", "Vi", "Viên", "Ứng", "Tiêu", "Trang", "Đới", "Thạch", "Ma", "Ngọ", "Lường",
    "Cầm", "Vàng", "Giàng", "Sùng", "Thào", "Mùa", "Lầu", "Hờ", "Lù", "Chảo", "Bế", "Quàng",
    "Tòng", "Hoa", "Lèo", "Điêu", "Xa", "Mè", "Tiết", "Khương", "Khưu", "Mẫn", "Nhan", "Ôn",
    "Phương", "Quản", "Thiều", "Trà", "Trình", "Uông", "Vưu", "Yên", "Lăng", "Bồ", "Mã",
]
# fmt: on
_FAMILY = frozenset(n.lower() for n in _FAMILY_NAMES)
_FAMILY_UNACCENTED = frozenset(_fold(n) for n in _FAMILY_NAMES)


def _is_family_name(word: str) -> bool:
    low = word.lower()
    return low in _FAMILY or (low.isascii() and low in _FAMILY_UNACCENTED)


def _is_middle_name(word: str) -> bool:
    low = word.lower()
    return low in ("văn", "thị") or (low.isascii() and low in ("van", "thi"))


def _titled_name_spans(text: str, folded: str) -> Iterator[Span]:
    pos = 0
    while m := _TITLED_NAME.search(text, pos):
        words = m.group("v").split()
        before = folded[max(0, m.start() - 12) : m.start()].split()
        if not (_is_family_name(words[0]) or _is_middle_name(words[1])):
            pos = m.start("v")  # "Ông Giám đốc", "Anh Bàn giao"; "Ông Bà Nguyễn Văn An" reads on
        elif before and before[-1] in _PLACE_WORDS:
            pos = m.end()  # "phố Bà Triệu", "đường Ông Ích Khiêm"
        else:
            yield m.span("v")
            pos = m.end()


def _address_spans(text: str, folded: str) -> Iterator[Span]:
    for pattern in _HOUSE_NUMBERS:
        yield from (m.span("v") for m in pattern.finditer(folded))
    for m in _NUMBER_BEFORE_NAME.finditer(folded):
        following = text[m.end() :].split(maxsplit=1)
        if following and following[0][0].isupper() and _fold(following[0]) not in _NOT_A_STREET:
            yield m.span("v")


def _literal_pattern(value: str) -> re.Pattern[str] | None:
    words = _folded(unicodedata.normalize("NFC", value)).split()
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    start = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    end = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return re.compile(start + body + end)


_FOLDED_TITLES = r"ong|ba|anh|chi|em|chau|co|chu|bac|cu|di|dong\s+chi"


def _given_name_pattern(name: str) -> re.Pattern[str] | None:
    """The submitter's given name after a title: "chị Hương", "bà Thu Hương" for Hoàng Thị Thu Hương."""
    words = [re.escape(w) for w in _folded(unicodedata.normalize("NFC", name)).split()]
    if len(words) < 2:
        return None
    given = words[-1] if len(words) == 2 else rf"{words[-2]}\s+{words[-1]}|{words[-1]}"
    return re.compile(rf"(?<!\w)(?:{_FOLDED_TITLES})\s+(?P<v>{given})(?!\w)")


@dataclass(frozen=True)
class Redactor:
    """What to remove for one ticket: the submitter's name and contact, the officer's marks."""

    names: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()
    placeholder: str = PLACEHOLDER
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _given_names: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Longest first, so a full name goes before a mark that is part of it.
        literals = sorted({v for v in (*self.names, *self.marks) if v and v.strip()}, key=len, reverse=True)
        patterns = tuple(p for p in (_literal_pattern(v) for v in literals) if p is not None)
        object.__setattr__(self, "_patterns", patterns)
        given = tuple(p for p in (_given_name_pattern(n) for n in self.names if n) if p is not None)
        object.__setattr__(self, "_given_names", given)

    def spans(self, text: str) -> list[Span]:
        folded = _folded(text)
        found: list[Span] = [m.span() for m in EMAIL.finditer(text)]
        found.extend(m.span() for m in _OBFUSCATED_EMAIL.finditer(folded))
        for pattern in self._patterns:
            found.extend(m.span() for m in pattern.finditer(folded))
        for pattern in self._given_names:
            # Only a capitalised given name: "chị Hương", not "chỉ hướng".
            found.extend(m.span("v") for m in pattern.finditer(folded) if text[m.start("v")].isupper())
        found.extend(_phone_and_id_spans(text))
        found.extend(m.span() for m in _PASSPORT.finditer(text))
        found.extend(m.span("v") for m in _PASSPORT_AFTER_WORD.finditer(folded))
        found.extend(m.span() for m in _PLATE.finditer(text))
        found.extend(m.span("v") for m in _BIRTH_DATE.finditer(folded))
        found.extend(_address_spans(text, folded))
        found.extend(_titled_name_spans(text, folded))
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


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact(text: str, *, names: Iterable[str] = (), marks: Iterable[str] = ()) -> str:
    """`text` with every piece of personal data replaced by PLACEHOLDER."""
    return Redactor(names=tuple(names), marks=tuple(marks))(text)
