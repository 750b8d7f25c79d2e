"""The use cases, called directly: no HTTP, no Redis, no process.

Each write is one transaction: what it changes, the events it leaves in the outbox with
it, and a wake-up for the relay only when there are events; a refusal changes nothing.
Linked procedure codes are checked first, against a stand-in for the procedures API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from content import errors, schemas, services
from content.uow import UnitOfWork
from minhbach_testing.procedures_api import KnownProcedures
from minhbach_testing.uow import UnitsOfWork, types

Units = UnitsOfWork[UnitOfWork]

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
EDITOR, APPROVER = "editor-lan", "approver-minh"


@pytest.fixture
def procedures() -> KnownProcedures:
    return KnownProcedures("MB.XD.001", "MB.XD.002")


def write(units: Units, procedures: KnownProcedures, **fields: Any) -> int:
    data = schemas.ArticleCreate(
        **{"category": "news", "title": "Rút ngắn thời gian cấp phép", "body": "Nội dung.", **fields}
    )
    return services.create_article(units(), data, author=EDITOR, now=NOW, procedures=procedures)


def edit(units: Units, procedures: KnownProcedures, article_id: int, **changes: Any) -> None:
    services.update_article(
        units(), article_id, schemas.ArticleUpdate(**changes), author=EDITOR, now=NOW, procedures=procedures
    )


def approve(units: Units, article_id: int, *, now: datetime = NOW, **times: datetime) -> None:
    services.publish(units(), article_id, schemas.PublishRequest(**times), approver=APPROVER, now=now)


def live(units: Units, procedures: KnownProcedures, **fields: Any) -> int:
    """An article written, submitted and approved now; its events read."""
    article_id = write(units, procedures, **fields)
    services.submit(units(), article_id)
    approve(units, article_id)
    units.new_events()
    return article_id


def test_writing_and_submitting_is_not_disclosed(units: Units, procedures: KnownProcedures) -> None:
    article_id = write(units, procedures, procedure_codes=["MB.XD.001"])
    edit(units, procedures, article_id, title="Rút ngắn thời gian cấp giấy phép xây dựng")
    services.submit(units(), article_id)

    shown = units.read(services.get_article_for_editors, article_id)
    assert (shown.state, shown.head, shown.public_status) == ("in_review", 2, None)
    assert units.outbox() == [] and units.wakes.count == 0
    assert procedures.asked == ["MB.XD.001"]  # the edit did not touch the links: not asked again
    with pytest.raises(errors.ArticleNotFound):
        units.read(services.get_article, article_id)


def test_an_unknown_linked_code_refuses_the_save_naming_it(units: Units, procedures: KnownProcedures) -> None:
    with pytest.raises(errors.UnknownProcedures) as refused:
        write(units, procedures, procedure_codes=["MB.XD.001", "MB.XD.999"])

    assert refused.value.errors == [
        {"field": "procedure_codes[1]", "code": "MB.XD.999", "message": "no published procedure MB.XD.999"}
    ]
    with pytest.raises(errors.ArticleNotFound):
        units.read(services.get_article_for_editors, 1)
    assert units.outbox() == [] and units.wakes.count == 0


def test_with_procedures_down_a_linked_save_is_refused_and_a_plain_one_is_not(
    units: Units, procedures: KnownProcedures
) -> None:
    procedures.down = True
    with pytest.raises(errors.ProceduresUnavailable):
        write(units, procedures, procedure_codes=["MB.XD.001"])

    article_id = write(units, procedures)  # no links: nothing to ask
    with pytest.raises(errors.ProceduresUnavailable):
        edit(units, procedures, article_id, procedure_codes=["MB.XD.002"])
    assert units.read(services.get_article_for_editors, article_id).head == 1 and article_id == 1


def test_approval_takes_the_article_live_with_one_event_and_one_wake_up(
    units: Units, procedures: KnownProcedures
) -> None:
    article_id = write(units, procedures, procedure_codes=["MB.XD.001"])
    services.submit(units(), article_id)
    approve(units, article_id)

    [published] = units.new_events()
    assert published["type"] == "article.published" and published["version"] == 1
    assert published["subject"] == {"kind": "article", "id": str(article_id)}
    assert published["data"]["procedure_codes"] == ["MB.XD.001"]
    assert units.wakes.count == 1
    assert units.read(services.get_article, article_id).status == "published"


def test_only_another_approver_approves_and_only_what_is_in_review(
    units: Units, procedures: KnownProcedures
) -> None:
    article_id = write(units, procedures)
    with pytest.raises(errors.NotAllowed) as not_yet:
        approve(units, article_id)  # a draft: submit first
    assert not_yet.value.errors[0]["allowed"] == ["edit", "restore", "submit", "archive"]

    services.submit(units(), article_id)
    with pytest.raises(errors.SelfApproval):  # the approver wrote the revision
        services.publish(units(), article_id, schemas.PublishRequest(), approver=EDITOR, now=NOW)
    assert units.read(services.get_article_for_editors, article_id).state == "in_review"
    assert units.outbox() == [] and units.wakes.count == 0


def test_an_edit_of_a_live_article_is_public_only_once_approved(
    units: Units, procedures: KnownProcedures
) -> None:
    article_id = live(units, procedures)
    edit(units, procedures, article_id, title="Tiêu đề mới")

    assert units.new_events() == [] and units.wakes.count == 1
    assert units.read(services.get_article, article_id).title == "Rút ngắn thời gian cấp phép"

    services.submit(units(), article_id)
    approve(units, article_id)
    updated = units.new_events()
    assert types(updated) == ["article.updated"] and updated[0]["version"] == 2
    assert units.read(services.get_article, article_id).title == "Tiêu đề mới"


def test_restoring_a_revision_makes_it_the_new_draft(units: Units, procedures: KnownProcedures) -> None:
    article_id = live(units, procedures, procedure_codes=["MB.XD.001"])
    edit(units, procedures, article_id, title="Tiêu đề mới", procedure_codes=[])
    procedures.asked.clear()

    with Session(units.engine) as session:
        services.restore_revision(
            units(), session, article_id, 1, author=EDITOR, now=NOW, procedures=procedures
        )
        with pytest.raises(errors.RevisionNotFound):
            services.restore_revision(
                units(), session, article_id, 9, author=EDITOR, now=NOW, procedures=procedures
            )

    assert procedures.asked == ["MB.XD.001"]  # the restored links are checked again
    revisions = units.read(services.list_revisions, article_id)
    assert [(r.number, r.content.title, r.live) for r in revisions.items] == [
        (1, "Rút ngắn thời gian cấp phép", True),
        (2, "Tiêu đề mới", False),
        (3, "Rút ngắn thời gian cấp phép", False),
    ]
    assert units.read(services.get_article_for_editors, article_id).state == "draft"
    assert units.new_events() == []  # the public still sees revision 1


def test_a_scheduled_article_goes_live_at_publish_at_and_comes_down_at_expire_at(
    units: Units, procedures: KnownProcedures
) -> None:
    article_id = write(units, procedures)
    services.submit(units(), article_id)
    hour = timedelta(hours=1)
    approve(units, article_id, publish_at=NOW + hour, expire_at=NOW + 2 * hour)

    assert units.read(services.get_article_for_editors, article_id).public_status == "scheduled"
    assert units.outbox() == [] and units.wakes.count == 0
    assert services.apply_schedule(units, now=NOW + hour - timedelta(seconds=1)) == 0

    assert services.apply_schedule(units, now=NOW + hour) == 1
    assert types(units.new_events()) == ["article.published"] and units.wakes.count == 1

    assert services.apply_schedule(units, now=NOW + 2 * hour) == 1
    assert types(units.new_events()) == ["article.unpublished"] and units.wakes.count == 2
    shown = units.read(services.get_article_for_editors, article_id)
    assert (shown.state, shown.public_status) == ("unpublished", "expired")
    assert services.apply_schedule(units, now=NOW + 3 * hour) == 0 and units.wakes.count == 2


def test_unpublishing_takes_it_down_once(units: Units, procedures: KnownProcedures) -> None:
    article_id = live(units, procedures)
    services.unpublish(units(), article_id, now=NOW + timedelta(minutes=5))

    assert types(units.new_events()) == ["article.unpublished"] and units.wakes.count == 2
    withdrawn = units.read(services.get_article, article_id)
    assert withdrawn.status == "unpublished" and withdrawn.body_html == ""
    with pytest.raises(errors.NotAllowed):
        services.unpublish(units(), article_id, now=NOW + timedelta(minutes=6))
    assert units.new_events() == [] and units.wakes.count == 2


def document(number: str, **fields: Any) -> schemas.DocumentCreate:
    values = {"type": "Quyết định", "issuer": "UBND tỉnh Thái Bình", "signed_on": "2026-01-05"}
    return schemas.DocumentCreate(number=number, title=f"Văn bản {number}", **{**values, **fields})


def file(units: Units, procedures: KnownProcedures, data: schemas.DocumentCreate) -> int:
    return services.create_document(units(), data, by=EDITOR, procedures=procedures)


def test_a_replacing_document_announces_itself_and_the_one_it_replaces(
    units: Units, procedures: KnownProcedures
) -> None:
    old = file(units, procedures, document("01/2025/QĐ-UBND"))
    assert types(units.new_events()) == ["document.published"] and units.wakes.count == 1

    new = file(
        units,
        procedures,
        document("02/2026/QĐ-UBND", relations=[{"kind": "replaces", "number": "01/2025/QĐ-UBND"}]),
    )

    written = units.new_events()
    assert {(e["subject"]["id"], e["version"], e["data"]["in_force"]) for e in written} == {
        (str(new), 1, True),
        (str(old), 2, False),
    }
    assert units.wakes.count == 2  # one commit, one wake-up
    assert units.read(services.get_document, old).related_by[0].number == "02/2026/QĐ-UBND"


def test_a_document_that_cannot_be_filed_files_nothing(units: Units, procedures: KnownProcedures) -> None:
    file(units, procedures, document("01/2025/QĐ-UBND"))
    units.new_events()

    with pytest.raises(errors.InvalidMany):
        file(units, procedures, document("02/2026/QĐ-UBND", relations=[{"kind": "amends", "number": "99/X"}]))
    with pytest.raises(errors.DocumentExists):
        file(units, procedures, document("01/2025/QĐ-UBND"))
    with pytest.raises(errors.UnknownProcedures):
        file(units, procedures, document("03/2026/QĐ-UBND", procedure_codes=["MB.XD.999"]))

    assert units.new_events() == [] and units.wakes.count == 1
    assert units.read(services.list_documents, q=None, type_=None, page=1, size=20).total == 1


def test_a_correction_is_a_new_version_of_the_document(units: Units, procedures: KnownProcedures) -> None:
    document_id = file(units, procedures, document("01/2025/QĐ-UBND"))
    units.new_events()

    correction = schemas.DocumentCorrection(title="Văn bản đã sửa", in_force=False)
    correct(units, procedures, document_id, correction)

    [corrected] = units.new_events()
    assert (corrected["type"], corrected["version"], corrected["data"]["in_force"]) == (
        "document.published",
        2,
        False,
    )
    assert units.read(services.get_document, document_id).title == "Văn bản đã sửa"
    with pytest.raises(errors.DocumentNotFound):
        correct(units, procedures, 404, correction)
    assert units.wakes.count == 2


def correct(
    units: Units, procedures: KnownProcedures, document_id: int, data: schemas.DocumentCorrection, **more: Any
) -> None:
    options: dict[str, Any] = {"by": EDITOR, "now": NOW, **more}
    services.correct_document(units(), document_id, data, procedures=procedures, **options)


def test_each_correction_is_kept_with_who_when_and_the_previous_values(
    units: Units, procedures: KnownProcedures
) -> None:
    document_id = file(units, procedures, document("01/2025/QĐ-UBND", summary="Tóm tắt cũ"))
    history = units.read(services.document_history, document_id)
    assert (history.filed_by, history.version, history.items) == (EDITOR, 1, [])

    correct(
        units,
        procedures,
        document_id,
        schemas.DocumentCorrection(
            title="Văn bản 01/2025 đã sửa", summary="Tóm tắt cũ", reason="Sai chính tả ở trích yếu"
        ),
    )
    later = NOW + timedelta(hours=2)
    correct(
        units,
        procedures,
        document_id,
        schemas.DocumentCorrection(effective_on="2026-02-01", procedure_codes=["MB.XD.002"]),
        by="editor-hoa",
        now=later,
    )

    newest, first = units.read(services.document_history, document_id).items
    assert (newest.version, newest.corrected_by, newest.corrected_at, newest.reason) == (
        3,
        "editor-hoa",
        later,
        None,
    )
    assert {k: (v.before, v.after) for k, v in newest.changes.items()} == {
        "effective_on": (None, "2026-02-01"),
        "procedure_codes": ([], ["MB.XD.002"]),
    }
    assert (first.version, first.corrected_by, first.corrected_at) == (2, EDITOR, NOW)
    assert first.reason == "Sai chính tả ở trích yếu"
    assert {k: (v.before, v.after) for k, v in first.changes.items()} == {
        "title": ("Văn bản 01/2025/QĐ-UBND", "Văn bản 01/2025 đã sửa")  # the unchanged summary is not kept
    }
    assert [e["version"] for e in units.new_events()] == [1, 2, 3]


def test_a_correction_that_changes_nothing_or_is_refused_writes_nothing(
    units: Units, procedures: KnownProcedures
) -> None:
    document_id = file(units, procedures, document("01/2025/QĐ-UBND"))
    units.new_events()

    with pytest.raises(errors.InvalidMany) as same:
        correct(
            units,
            procedures,
            document_id,
            schemas.DocumentCorrection(title="Văn bản 01/2025/QĐ-UBND", type="Quyết định", reason="x"),
        )
    assert [e["field"] for e in same.value.errors] == ["type", "title"]
    with pytest.raises(errors.Invalid):  # a real change with an attachment never uploaded: none of it
        correct(
            units,
            procedures,
            document_id,
            schemas.DocumentCorrection(title="Sửa một nửa", attachment="0" * 64),
        )
    with pytest.raises(errors.UnknownProcedures):
        correct(
            units,
            procedures,
            document_id,
            schemas.DocumentCorrection(title="Sửa một nửa", procedure_codes=["MB.XD.999"]),
        )

    assert units.new_events() == [] and units.wakes.count == 1
    assert units.read(services.document_history, document_id).items == []
    shown = units.read(services.get_document, document_id)
    assert (shown.title, shown.version) == ("Văn bản 01/2025/QĐ-UBND", 1)
    with pytest.raises(errors.DocumentNotFound):
        units.read(services.document_history, 404)
