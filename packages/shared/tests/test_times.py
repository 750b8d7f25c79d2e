"""The one reading of a scheduled task's or command's `as_of` (time moved by tests and operators)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from minhbach_shared.times import VIETNAM, as_of


def test_an_iso_moment_without_an_offset_is_utc() -> None:
    assert as_of("2026-12-01T00:00:00") == datetime(2026, 12, 1, tzinfo=UTC)


def test_an_offset_is_honoured_and_the_result_is_utc() -> None:
    moment = as_of("2026-12-01T07:00:00+07:00")
    assert moment == datetime(2026, 12, 1, tzinfo=UTC) and moment.tzinfo is UTC
    assert as_of(datetime(2026, 12, 1, 7, tzinfo=VIETNAM)) == datetime(2026, 12, 1, tzinfo=UTC)
    assert as_of(datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5)))).hour == 5


def test_none_is_now() -> None:
    before = datetime.now(UTC)
    assert before <= as_of(None) <= datetime.now(UTC)
    assert before <= as_of("") <= datetime.now(UTC)
