"""Redaction against a corpus of Vietnamese personal data, and what it must leave alone."""

from __future__ import annotations

import re

import pytest

from hotline.redaction import PLACEHOLDER, redact

from .redaction_corpus import LOOKALIKES, PERSONAL, SUBMITTER

PHONES = [
    "0912 345 678",
    "0912.345.678",
    "0912-345-678",
    "0912345678",
    "091 234 5678",
    "+84 912 345 678",
    "+84912345678",
    "+84-912-345-678",
    "(+84) 912 345 678",
    "84912345678",
    "(024) 3826 1234",
    "024 3826 1234",
    "0243.826.1234",
    "(0227) 3831 234",
    "02273831234",
]
EMAILS = ["binh.tran@example.vn", "nguyen_van.an+pakn@gmail.com", "hoa-le@thaibinh.gov.vn"]
ID_NUMBERS = ["034089001234", "151234567", "034 089 001 234"]
KEPT = [
    "Lệ phí 150.000.000 đồng",
    "Quyết định số 1234/QĐ-UBND ngày 12.3.2024",
    "thủ tục 1.009972",
    "thửa đất số 45, tờ bản đồ số 12, diện tích 120,5 m2",
    "năm 2026, ngày 27/11/2026",
    "mã MB.XD.001",
    "Nghị định 15/2021/NĐ-CP",
]


@pytest.mark.parametrize("value", PHONES + EMAILS + ID_NUMBERS)
def test_each_form_is_removed(value: str) -> None:
    text = f"Liên hệ: {value}. Cảm ơn."
    assert redact(text) == f"Liên hệ: {PLACEHOLDER}. Cảm ơn."


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_numbers_stay(text: str) -> None:
    assert redact(text) == text


def test_two_numbers_side_by_side_are_both_removed() -> None:
    assert redact("gọi 0912345678 0987654321 nhé") == f"gọi {PLACEHOLDER} {PLACEHOLDER} nhé"


def test_the_name_is_removed_with_or_without_accents_and_in_any_case() -> None:
    names = ["Nguyễn Văn An"]
    for written in ("Nguyễn Văn An", "NGUYỄN VĂN AN", "nguyen van an", "Nguyễn  Văn\nAn"):
        assert redact(f"Tôi là {written}, ở Vũ Thư.", names=names) == f"Tôi là {PLACEHOLDER}, ở Vũ Thư."


def test_a_name_inside_a_longer_word_is_left() -> None:
    assert (
        redact("Anh Bàn giao hồ sơ; ông An đến.", names=["An"])
        == f"Anh Bàn giao hồ sơ; ông {PLACEHOLDER} đến."
    )


def test_marked_strings_are_removed() -> None:
    text = "Nhà tôi ở thôn Đông Hoà, xã Vũ Hội, cạnh cây xăng Hưng Thịnh."
    out = redact(text, marks=["thôn Đông Hoà", "cay xang Hung Thinh"])
    assert "Đông Hoà" not in out and "Hưng Thịnh" not in out
    assert "xã Vũ Hội" in out


def test_a_whole_corpus_leaves_nothing_behind() -> None:
    corpus = PHONES + EMAILS + ID_NUMBERS
    text = "Ông Lê Văn Cường hỏi: " + "; ".join(corpus) + ". Địa chỉ: số 5 đường Trần Hưng Đạo."
    out = redact(text, names=["Lê Văn Cường"], marks=["số 5 đường Trần Hưng Đạo"])
    for value in [*corpus, "Lê Văn Cường", "Trần Hưng Đạo"]:
        assert value not in out
    assert not any(ch.isdigit() for ch in out)
    assert out.startswith(f"Ông {PLACEHOLDER} hỏi:")


# The corpus (redaction_corpus.py): personal data between ⟦ and ⟧ in sentences people write,
# and look-alikes that must come out exactly as they went in (issue 12).
_MARKED = re.compile(r"⟦([^⟧]*)⟧")
PERSONAL_CASES = [
    pytest.param(sentence, id=f"{kind}-{i}")
    for kind, sentences in PERSONAL.items()
    for i, sentence in enumerate(sentences, 1)
]


def test_the_corpus_is_large_enough() -> None:
    sentences = [s for group in PERSONAL.values() for s in group]
    assert len(sentences) >= 150 and len(set(sentences)) == len(sentences)
    assert sum(len(_MARKED.findall(s)) for s in sentences) >= 150
    assert len(LOOKALIKES) >= 50 and len(set(LOOKALIKES)) == len(LOOKALIKES)


@pytest.mark.parametrize("marked", PERSONAL_CASES)
def test_personal_data_in_a_sentence_is_removed_and_nothing_else(marked: str) -> None:
    text = marked.replace("⟦", "").replace("⟧", "")
    out = redact(text, names=[SUBMITTER])
    for item in _MARKED.findall(marked):
        assert item not in out, out
    assert PLACEHOLDER in out
    assert out == _MARKED.sub(PLACEHOLDER, marked)


@pytest.mark.parametrize("text", LOOKALIKES)
def test_a_lookalike_comes_out_unchanged(text: str) -> None:
    assert redact(text, names=[SUBMITTER]) == text


@pytest.mark.parametrize(
    "text",
    [
        "0" * 10_000,
        "1 " * 5_000,
        "1." * 5_000,
        "1-" * 4_999 + "a",
        "a" * 10_000,
        "a." * 5_000,
        "a@" + "b." * 4_999,
        "a a còng " + "b chấm " * 1_400,
        "(" * 5_000 + "1" * 5_000,
        "Ông " + "Nguyễn " * 1_400,
        "ông " * 2_500,
        "Ông Giám " * 1_100,
        "số nhà " + "1/" * 4_990,
        "sinh ngày " + "1/" * 4_990,
        "17A-" * 2_500,
        "C" * 5_000 + "1" * 5_000,
        "Ông Nguyễn Văn An, SĐT 0912.345.678, CCCD 034-085-001-234, ở số 12 ngõ 34 phố Lê Lợi. " * 110,
    ],
    ids=lambda t: repr(t[:12]),
)
def test_a_long_hostile_text_is_redacted_without_hanging(text: str) -> None:
    # Redaction runs on every request, on texts up to 10,000 characters: no pattern may
    # backtrack without bound on them (the suite's timeout would stop a hang).
    assert len(text) <= 10_000
    out = redact(text, names=[SUBMITTER])
    assert isinstance(out, str) and "0912.345.678" not in out
