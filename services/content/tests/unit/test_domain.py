"""The article workflow and schedule, and a document's corrections, on the domain alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from content.domain import (
    Article,
    BadSchedule,
    Document,
    EditorialState,
    NothingToCorrect,
    PublicStatus,
    RuleBroken,
    SelfApproval,
    differences,
)
from minhbach_shared.times import entered_in_vietnam as to_utc

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def article(author: str = "lan") -> Article:
    a = Article.create(slug="tin", content={"title": "Tin", "category": "news"}, author=author, now=NOW)
    a.id = 7
    return a


def in_review(author: str = "lan") -> Article:
    a = article(author)
    a.submit()
    return a


def test_naive_times_are_vietnam_time() -> None:
    assert to_utc(datetime(2026, 11, 27, 8, 0)) == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    assert to_utc(datetime(2026, 11, 27, 8, 0, tzinfo=UTC)) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_publish_now_records_one_event_with_version_one() -> None:
    a = in_review()
    a.publish(approver="minh", now=NOW)
    assert a.state is EditorialState.PUBLISHED and a.public_status is PublicStatus.PUBLISHED
    assert [(e.type.value, e.version, e.subject.id) for e in a.events] == [("article.published", 1, "7")]


def test_self_approval_is_refused() -> None:
    a = in_review("hoa")
    with pytest.raises(SelfApproval):
        a.publish(approver="hoa", now=NOW)
    assert a.state is EditorialState.IN_REVIEW and a.events == []


def test_edit_while_in_review_is_refused_with_the_allowed_actions() -> None:
    a = in_review()
    with pytest.raises(RuleBroken) as caught:
        a.edit({"title": "x"}, author="lan", now=NOW)
    assert caught.value.allowed == ["publish", "send_back"]


def test_scheduled_then_live_then_expired_with_increasing_versions() -> None:
    a = in_review()
    a.publish(
        approver="minh", now=NOW, publish_at=NOW + timedelta(hours=1), expire_at=NOW + timedelta(days=1)
    )
    assert a.public_status is PublicStatus.SCHEDULED and a.version == 0 and a.events == []
    assert not a.apply_due(NOW + timedelta(minutes=59))
    assert a.apply_due(NOW + timedelta(hours=1))
    assert a.is_live and a.version == 1
    assert a.apply_due(NOW + timedelta(days=1))
    assert a.public_status is PublicStatus.EXPIRED and a.state is EditorialState.UNPUBLISHED
    assert [(e.type.value, e.version) for e in a.events] == [
        ("article.published", 1),
        ("article.unpublished", 2),
    ]


def test_a_revision_scheduled_later_keeps_the_live_ones_expiry_and_brings_its_own() -> None:
    a = in_review()
    a.publish(approver="minh", now=NOW, expire_at=NOW + timedelta(days=1))
    a.edit({"title": "Tin tuần sau"}, author="lan", now=NOW)
    a.submit()
    a.publish(approver="minh", now=NOW, publish_at=NOW + timedelta(days=7))
    # The live revision still comes down tomorrow, as approved.
    assert a.expire_at == NOW + timedelta(days=1)
    assert a.apply_due(NOW + timedelta(days=1))
    assert a.public_status is PublicStatus.EXPIRED and a.state is EditorialState.PUBLISHED
    # Next week the new revision goes live, with no expiry of its own.
    assert a.apply_due(NOW + timedelta(days=7))
    assert a.is_live and a.live_revision == 2 and a.expire_at is None
    assert not a.apply_due(NOW + timedelta(days=300))
    assert [e.type.value for e in a.events] == [
        "article.published",
        "article.unpublished",
        "article.published",
    ]


def test_a_scheduled_revision_brings_its_expiry_only_when_it_goes_live() -> None:
    a = in_review()
    a.publish(approver="minh", now=NOW)
    a.edit({"title": "Tin có hạn"}, author="lan", now=NOW)
    a.submit()
    a.publish(
        approver="minh", now=NOW, publish_at=NOW + timedelta(hours=1), expire_at=NOW + timedelta(hours=5)
    )
    assert a.expire_at is None and a.is_live and a.live_revision == 1
    assert a.apply_due(NOW + timedelta(hours=1)) and a.expire_at == NOW + timedelta(hours=5)
    assert a.apply_due(NOW + timedelta(hours=5)) and a.public_status is PublicStatus.EXPIRED


def test_expire_before_publish_is_refused() -> None:
    a = in_review()
    with pytest.raises(BadSchedule):
        a.publish(
            approver="minh", now=NOW, publish_at=NOW + timedelta(hours=2), expire_at=NOW + timedelta(hours=1)
        )


def test_cancelling_a_never_live_schedule_emits_nothing_and_stays_invisible() -> None:
    a = in_review()
    a.publish(approver="minh", now=NOW, publish_at=NOW + timedelta(hours=1))
    a.unpublish(now=NOW)
    assert a.public_status is None and a.version == 0 and a.events == []


def test_live_revision_stays_while_the_next_is_reviewed_then_updates() -> None:
    a = in_review()
    a.publish(approver="minh", now=NOW)
    a.edit({"title": "Tin mới"}, author="lan", now=NOW)
    a.submit()
    assert a.live_revision == 1 and a.head == 2 and a.is_live
    a.publish(approver="minh", now=NOW)
    assert a.live_revision == 2
    assert [e.type.value for e in a.events] == ["article.published", "article.updated"]
    assert a.events[-1].data["title"] == "Tin mới"


def test_a_live_article_cannot_be_archived() -> None:
    a = in_review()
    a.publish(approver="minh", now=NOW)
    a.edit({"title": "x"}, author="lan", now=NOW)
    with pytest.raises(RuleBroken):
        a.archive()


def filed() -> Document:
    d = Document.publish_new(
        "15/KH-SXD",
        {
            "type": "Kế hoạch",
            "issuer": "Sở Xây dựng",
            "signed_on": date(2022, 2, 7),
            "effective_on": None,
            "title": "Kế hoạch tuyen truyen",
            "summary": "",
            "attachment": None,
            "procedure_codes": ["MB.XD.001"],
        },
        [],
    )
    d.id = 4
    d.announce()
    d.events.clear()
    return d


def test_a_correction_keeps_only_the_fields_that_changed_with_their_previous_values() -> None:
    d = filed()
    correction = d.correct(
        {
            "title": "Kế hoạch tuyên truyền",
            "issuer": "Sở Xây dựng",  # the same: not a change
            "signed_on": date(2022, 2, 8),
            "effective_on": date(2022, 3, 1),
            "procedure_codes": ["MB.XD.001"],  # the same list
            "in_force": False,
        },
        by="lan",
        now=NOW,
        reason="  ",
    )
    assert correction.changes == {
        "signed_on": {"before": "2022-02-07", "after": "2022-02-08"},
        "effective_on": {"before": None, "after": "2022-03-01"},
        "title": {"before": "Kế hoạch tuyen truyen", "after": "Kế hoạch tuyên truyền"},
        "in_force": {"before": True, "after": False},
    }
    assert list(correction.changes) == ["signed_on", "effective_on", "title", "in_force"]  # the field order
    assert (correction.version, correction.corrected_by, correction.corrected_at) == (2, "lan", NOW)
    assert correction.reason == "  "  # the schema strips it; the domain keeps what it is given
    assert d.fields["title"] == "Kế hoạch tuyên truyền" and d.in_force is False
    assert d.corrected == {
        "signed_on": date(2022, 2, 8),
        "effective_on": date(2022, 3, 1),
        "title": "Kế hoạch tuyên truyền",
    }
    assert d.new_corrections == [correction]
    assert [(e.version, e.data["in_force"]) for e in d.events] == [(2, False)]


def test_a_correction_that_changes_nothing_is_refused_and_changes_nothing() -> None:
    d = filed()
    with pytest.raises(NothingToCorrect) as caught:
        d.correct({"title": "Kế hoạch tuyen truyen", "in_force": True}, by="lan", now=NOW)
    assert caught.value.fields == ["title", "in_force"]
    assert d.version == 1 and d.events == [] and d.new_corrections == [] and d.corrected == {}


def test_the_number_and_the_relations_are_not_correctable() -> None:
    d = filed()
    with pytest.raises(ValueError, match="number"):
        d.correct({"number": "16/KH-SXD"}, by="lan", now=NOW)
    assert d.version == 1 and d.number == "15/KH-SXD"


def test_differences_compare_dates_and_lists_as_the_history_stores_them() -> None:
    current = {"signed_on": date(2022, 2, 7), "procedure_codes": ["A", "B"], "attachment": None}
    assert differences(current, {"signed_on": "2022-02-07", "procedure_codes": ("A", "B")}) == {}
    assert differences(current, {"procedure_codes": ["B", "A"], "attachment": "f" * 64}) == {
        "attachment": {"before": None, "after": "f" * 64},
        "procedure_codes": {"before": ["A", "B"], "after": ["B", "A"]},
    }
