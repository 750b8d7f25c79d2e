"""The operator's page in words, without a framework: how long ago, a queue nobody takes (and
one of a channel switched off), an outbox that is slow, a round's subjects, what needs
attention and what is not said when the notifier could not be read at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console import operations_health as oh

NOW = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam


def no_link(kind: str, subject_id: str) -> str | None:
    return None


def test_moments_are_said_as_how_long_ago_and_when_in_vietnam() -> None:
    seen = oh.moment("2026-12-20T08:57:30+07:00", NOW)
    assert seen == oh.Moment(iso="2026-12-20T08:57:30+07:00", ago="2 phút trước", at="08:57:30 20/12/2026")
    assert oh.moment(NOW - timedelta(seconds=3), NOW).ago == "vừa xong"
    assert oh.moment(NOW + timedelta(seconds=2), NOW).ago == "vừa xong"
    assert oh.moment(NOW - timedelta(days=1, hours=2), NOW).ago == "1 ngày 2 giờ trước"
    assert oh.moment(None, NOW) is None
    assert oh.moment("not a time", NOW) is None
    assert oh.duration(None) == "" and oh.duration(-4) == "0 giây" and oh.duration(3720) == "1 giờ 2 phút"


def test_a_queue_without_workers_is_unattended_unless_its_channel_is_off() -> None:
    views = oh.queue_views(
        [
            {"queue": "channel.portal", "depth": 3, "oldest_age_s": 70.0, "unacked": 1, "consumers": 0},
            {"queue": "channel.dvc", "depth": 0, "oldest_age_s": None, "unacked": 0, "consumers": 0},
            {"queue": "hotline", "depth": 0, "oldest_age_s": None, "unacked": 0, "consumers": 2},
            {"queue": "somewhere", "depth": 0, "oldest_age_s": 5.0},  # an older notifier: no counts
        ],
        channels=["portal", "center"],
    )
    portal, dvc, hotline, unknown = views
    assert portal.unattended and portal.oldest == "1 phút" and portal.label == "Gửi lên Cổng thông tin"
    assert dvc.off and not dvc.unattended
    assert not hotline.unattended and hotline.label.startswith("Nhắc hạn trả lời")
    assert not unknown.unattended and unknown.consumers is None and unknown.oldest == ""
    assert unknown.label == "somewhere"


def test_an_outbox_is_slow_past_a_minute_with_something_unsent() -> None:
    def view(unsent: int, age: float) -> oh.OutboxView:
        return oh.outbox_view("content", {"unsent": unsent, "oldest_age_s": age, "last_sent_at": None}, NOW)

    assert not view(3, 60.0).slow and view(3, 61.0).slow
    assert not view(0, 0.0).slow and view(0, 0.0).oldest == ""
    assert view(3, 61.0).oldest == "1 phút" and view(3, 61.0).label == "Dịch vụ tin bài và văn bản"
    down = oh.outbox_unreachable("hotline")
    assert down.unreachable and not down.slow and down.label == "Dịch vụ đường dây nóng"
    assert oh.outbox_refused("procedures", 403).refused == "mã 403"


def test_a_rounds_subjects_are_named_and_linked_and_the_unlisted_counted() -> None:
    def link(kind: str, subject_id: str) -> str | None:
        return f"/p/{subject_id}" if kind == "procedure" else None

    r = oh.round_view(
        {
            "finished_at": "2026-12-20T08:59:00+07:00",
            "at_start": True,
            "fetched": 60,
            "redelivered": 2,
            "fetched_subjects": ["procedure:A:1", "ticket:PAKN-1", "odd"],
            "redelivered_subjects": {"portal": ["procedure:B"]},
            "redelivered_by_channel": {"portal": 2},
            "unreachable": ["content"],
        },
        NOW,
        link,
    )
    assert r.at_start and r.repaired and r.fetched_unlisted == 57
    assert r.fetched_subjects == [
        oh.SubjectLink("Thủ tục A:1", "/p/A:1"),
        oh.SubjectLink("Hỏi đáp PAKN-1", None),
        oh.SubjectLink("odd", None),
    ]
    [portal] = r.channels
    assert (portal.label, portal.count, portal.unlisted) == ("Cổng thông tin", 2, 1)
    assert r.unreachable == ["dịch vụ tin bài và văn bản"]


def test_nothing_is_said_about_workers_or_rounds_when_the_notifier_was_not_read_at_all() -> None:
    unread = oh.Health(reconciliation_read=False, outboxes=[oh.outbox_unreachable("procedures")])
    assert oh.attention(unread) == [
        oh.Attention("Không liên lạc được dịch vụ thủ tục hành chính.", "hang-cho-gui")
    ]
    partly = oh.Health(channels=[{"name": "portal", "health": "ok"}], reconciliation_read=False)
    assert [a.anchor for a in oh.attention(partly)] == ["worker", "doi-soat"]
    calm = oh.Health(channels=[{"name": "portal", "health": "ok"}], workers=[], queues=[])
    assert oh.attention(calm) == []
