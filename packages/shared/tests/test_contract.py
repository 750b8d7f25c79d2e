import json
import unicodedata
from pathlib import Path

import pytest
from pydantic import ValidationError

from minhbach_shared.components import PROCEDURE_COMPONENTS
from minhbach_shared.events import Envelope, EventType
from minhbach_shared.text import fold, slugify

ROOT = Path(__file__).resolve().parents[3]


def envelope(**overrides):
    fields = {
        "type": "procedure.amended",
        "source": "procedures",
        "subject": {"kind": "procedure", "id": "MB.XD.001"},
        "version": 2,
    }
    return Envelope.model_validate({**fields, **overrides})


def test_envelope_round_trips_through_json():
    sent = envelope(data={"name": "Cấp giấy phép xây dựng"})
    received = Envelope.model_validate(json.loads(json.dumps(sent.to_wire())))
    assert received == sent
    assert received.type is EventType.PROCEDURE_AMENDED


@pytest.mark.parametrize(
    ("field", "value"),
    [("type", "procedure.renamed"), ("version", 0), ("subject", {"kind": "user", "id": "1"})],
)
def test_envelope_refuses_what_the_contract_does_not_allow(field, value):
    with pytest.raises(ValidationError) as err:
        envelope(**{field: value})
    assert err.value.errors()[0]["loc"][0] == field


def test_envelope_schema_in_docs_is_current():
    written = json.loads((ROOT / "docs" / "event-envelope.schema.json").read_text())
    assert written == Envelope.model_json_schema()


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("GIẤY PHÉP QUY HOẠCH", "giay phep quy hoach"),
        ("Đường điện", "duong dien"),
        ("nhà ở hình thành trong tương lai", "nha o hinh thanh trong tuong lai"),
        # decomposed input (NFD) folds the same as composed
        ("Xa\u0302\u0300y du\u031b\u0323ng", "xay dung"),
    ],
)
def test_fold_strips_every_mark_and_d_stroke(text, folded):
    assert fold(text) == folded


def test_slugify_makes_ascii_paths_from_vietnamese():
    assert slugify("Quy hoạch xây dựng, kiến trúc") == "quy-hoach-xay-dung-kien-truc"
    assert slugify("Đô thị") == "do-thi"


def test_a_procedure_has_the_fifteen_components_of_the_national_form_in_its_order() -> None:
    # Spelled out here once more on purpose: the contract's list is what every service
    # requires, serves and shows, so dropping one must fail a test.
    assert PROCEDURE_COMPONENTS == (
        "name",
        "field",
        "level",
        "agency",
        "subjects",
        "steps",
        "submission_methods",
        "dossier",
        "processing_time",
        "result",
        "fees",
        "forms",
        "requirements",
        "legal_basis",
        "online_service",
    )


def test_fold_of_a_composed_text_is_the_fold_of_its_decomposed_form() -> None:
    # fold reads composed Vietnamese through a table: every Latin letter with marks, in
    # either case, folds as its decomposed form does, alone and amid other text.
    letters = [chr(p) for block in (range(0xC0, 0x250), range(0x1E00, 0x1F00)) for p in block]
    for letter in letters:
        text = f"Ab {letter}{letter.upper()}x-{letter.lower()} 9"
        assert fold(text) == fold(unicodedata.normalize("NFD", text)), letter
    # Not Latin, or no ASCII fold: kept, lower-cased
    assert fold("Æsir Ωmega ĐẶNG") == "æsir ωmega dang"


def test_punctuation_the_quick_fold_keeps_folds_as_the_long_way_folds_it() -> None:
    # A procedure's search text is joined by " · ": the quick way must take it, and give
    # what the long way (decompose, drop the marks, compose) gives, beside any letter.
    from minhbach_shared.text import _KEPT_CHARACTERS, _fold_by_character

    assert {"·", "–", "—", "“", "”", "…", "→", "≥", "²", "₫", "№"} <= set(_KEPT_CHARACTERS)
    neighbours = ["a", "Z", "9", " ", "ệ", "Đ", "ử"]
    for kept in _KEPT_CHARACTERS:
        for letter in neighbours:
            text = f"{letter}{kept}{letter.upper()} Thủ tục {kept}"
            assert fold(text) == _fold_by_character(text), hex(ord(kept))
    folded = fold("Lĩnh vực: Hoạt động xây dựng · Cấp tỉnh – 20 m²")
    assert folded == "linh vuc: hoat dong xay dung · cap tinh – 20 m²"
