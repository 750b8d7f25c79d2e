"""The console's own rules: who may have an account, how long a session lasts, what wrong
passwords cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.domain import (
    AccountProblem,
    SessionPolicy,
    ThrottlePolicy,
    check_password,
    check_roles,
    check_username,
)
from minhbach_shared.auth import Role


@pytest.mark.parametrize("name", ["an.nguyen", "bientap2", "cb_1-tt"])
def test_usernames_are_plain_lower_case(name):
    check_username(name)


@pytest.mark.parametrize("name", ["an", "Nguyễn", "an nguyen", ".an", "a" * 65])
def test_a_username_outside_the_rule_names_the_field(name):
    with pytest.raises(AccountProblem) as problem:
        check_username(name)
    assert problem.value.field == "username"


def test_a_password_is_long_and_does_not_contain_the_name():
    check_password("một câu dài dễ nhớ", username="an.nguyen")
    for bad in ("ngắn-quá", "an.nguyen-2026-abc"):
        with pytest.raises(AccountProblem) as problem:
            check_password(bad, username="an.nguyen")
        assert problem.value.field == "password"


def test_roles_are_the_five_staff_roles_and_at_least_one():
    assert check_roles(["editor", "approver"]) == {Role.EDITOR, Role.APPROVER}
    for bad in ([], ["service"], ["root"]):
        with pytest.raises(AccountProblem):
            check_roles(bad)


def test_a_session_ends_when_idle_too_long_or_too_old():
    policy = SessionPolicy(idle=timedelta(minutes=30), max_age=timedelta(hours=12))
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert not policy.expired(
        created_at=now - timedelta(hours=2), last_seen_at=now - timedelta(minutes=29), now=now
    )
    assert policy.expired(
        created_at=now - timedelta(hours=2), last_seen_at=now - timedelta(minutes=31), now=now
    )
    assert policy.expired(created_at=now - timedelta(hours=13), last_seen_at=now, now=now)


def test_wrong_passwords_cost_more_each_time_up_to_a_cap_then_lock():
    policy = ThrottlePolicy(
        delay_step_s=0.5, delay_max_s=3, account_limit=5, client_limit=20, window=timedelta(minutes=15)
    )
    assert [policy.delay_after(n) for n in (1, 2, 4, 10)] == [0.5, 1.0, 2.0, 3]
    assert not policy.locked(account_failures=4, client_failures=19)
    assert policy.locked(account_failures=5, client_failures=0)
    assert policy.locked(account_failures=0, client_failures=20)
