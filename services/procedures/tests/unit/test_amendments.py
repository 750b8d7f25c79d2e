"""What an amendment changed, component by component, without a database."""

from __future__ import annotations

import copy
from typing import Any

from procedures.amendments import ComponentChange, ItemChange, compare


def in_force() -> dict[str, Any]:
    return {
        "name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "field": "Hoạt động xây dựng",
        "level": "Cấp tỉnh",
        "agency": "Sở Xây dựng",
        "subjects": ["Hộ gia đình", "Cá nhân"],
        "steps": ["Nộp hồ sơ", "Thẩm định", "Trả kết quả"],
        "submission_methods": ["Trực tiếp"],
        "dossier": {
            "items": [
                {"name": "Đơn đề nghị cấp giấy phép", "originals": 1, "copies": None},
                {"name": "Bản sao giấy tờ về quyền sử dụng đất", "originals": None, "copies": 1},
            ],
            "sets": 1,
        },
        "processing_time": {"value": 20, "unit": "working_days"},
        "result": "Giấy phép xây dựng",
        "fees": [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 150000, "note": None}],
        "forms": [],
        "requirements": [],
        "legal_basis": ["Luật Xây dựng 2014"],
        "online_service": "một phần",
    }


def amended(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(in_force()), **changes}


def test_the_same_content_changed_nothing() -> None:
    assert compare(in_force(), in_force()) == []


def test_a_fee_re_priced_is_one_fee_before_and_after() -> None:
    after = amended(fees=[{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 200000, "note": None}])

    assert compare(in_force(), after) == [
        ComponentChange(
            "fees",
            changed=(
                ItemChange(
                    {"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 150000},
                    {"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 200000},
                ),
            ),
        )
    ]


def test_a_lone_fee_renamed_is_still_that_fee() -> None:
    after = amended(fees=[{"name": "Lệ phí cấp phép", "amount_vnd": 200000}])

    (change,) = compare(in_force(), after)
    assert change.changed == (
        ItemChange(
            {"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 150000},
            {"name": "Lệ phí cấp phép", "amount_vnd": 200000},
        ),
    )
    assert change.added == change.removed == ()


def test_a_fee_added_beside_another_and_a_fee_dropped_to_free() -> None:
    second = {"name": "Phí thẩm định", "amount_vnd": 500000}
    both = amended(fees=[*in_force()["fees"], second])

    assert compare(in_force(), both) == [ComponentChange("fees", added=(second,))]
    assert compare(in_force(), amended(fees=[])) == [
        ComponentChange("fees", removed=({"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 150000},))
    ]


def test_processing_time_before_and_after() -> None:
    after = amended(processing_time={"value": 15, "unit": "working_days"})

    assert compare(in_force(), after) == [
        ComponentChange(
            "processing_time",
            before={"value": 20, "unit": "working_days"},
            after={"value": 15, "unit": "working_days"},
        )
    ]


def test_dossier_papers_added_and_removed_and_recounted() -> None:
    before = in_force()
    after = amended(
        dossier={
            "items": [
                {"name": "Đơn đề nghị cấp giấy phép", "originals": 2},
                {"name": "Bản vẽ thiết kế xây dựng", "originals": None, "copies": 2},
            ],
            "sets": 1,
        }
    )

    (change,) = compare(before, after)
    assert change.component == "dossier"
    assert change.added == ({"name": "Bản vẽ thiết kế xây dựng", "copies": 2},)
    assert change.removed == ({"name": "Bản sao giấy tờ về quyền sử dụng đất", "copies": 1},)
    assert change.changed == (
        ItemChange(
            {"name": "Đơn đề nghị cấp giấy phép", "originals": 1},
            {"name": "Đơn đề nghị cấp giấy phép", "originals": 2},
        ),
    )
    assert change.before is None and change.after is None  # the sets did not change


def test_the_number_of_dossier_sets() -> None:
    after = amended(dossier={**in_force()["dossier"], "sets": 2})

    assert compare(in_force(), after) == [ComponentChange("dossier", before=1, after=2)]


def test_a_paper_given_by_name_alone_matches_the_same_paper_with_no_counts() -> None:
    before = amended(dossier={"items": [{"name": "Tờ khai", "originals": None, "copies": None}]})
    after = amended(dossier={"items": ["Tờ khai"]})

    assert compare(before, after) == []


def test_list_items_added_and_removed_in_form_order() -> None:
    after = amended(
        subjects=["Cá nhân", "Tổ chức"],
        forms=["Mẫu số 01 — Đơn đề nghị cấp giấy phép xây dựng"],
    )

    assert compare(in_force(), after) == [
        ComponentChange("subjects", added=("Tổ chức",), removed=("Hộ gia đình",)),
        ComponentChange("forms", added=("Mẫu số 01 — Đơn đề nghị cấp giấy phép xây dựng",)),
    ]


def test_steps_reordered_are_given_whole() -> None:
    after = amended(steps=["Thẩm định", "Nộp hồ sơ", "Trả kết quả"])

    assert compare(in_force(), after) == [
        ComponentChange(
            "steps",
            before=["Nộp hồ sơ", "Thẩm định", "Trả kết quả"],
            after=["Thẩm định", "Nộp hồ sơ", "Trả kết quả"],
        )
    ]


def test_a_component_newly_present_or_now_absent() -> None:
    before = amended(requirements=None, online_service=None)
    after = amended(requirements=["Có bản vẽ được thẩm định"], agency="  ")

    assert compare(before, after) == [
        ComponentChange("agency", before="Sở Xây dựng", after=None),
        ComponentChange("requirements", added=("Có bản vẽ được thẩm định",)),
        ComponentChange("online_service", before=None, after="một phần"),
    ]


def test_text_compared_without_surrounding_spaces() -> None:
    assert compare(in_force(), amended(result=" Giấy phép xây dựng ")) == []
    assert compare(in_force(), amended(result="Giấy phép xây dựng có thời hạn")) == [
        ComponentChange("result", before="Giấy phép xây dựng", after="Giấy phép xây dựng có thời hạn")
    ]
