"""Signing in and staying signed in: sessions, CSRF, lockout, disabled accounts, passwords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from console import accounts, db
from console.app import create_app
from services.console.tests.conftest import PASSWORD, csrf_of, sign_in

WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


def test_a_person_signs_in_and_sees_their_name_and_only_their_roles_menu(client, add_account):
    add_account("an.nguyen", "editor", name="Nguyễn Văn An")
    answer = sign_in(client, "An.Nguyen ", next_path="/console/procedures")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/procedures"
    cookie = answer.headers["set-cookie"]
    assert "mb_console_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/console" in cookie
    home = client.get("/console/")
    assert home.status_code == 200
    assert "Nguyễn Văn An" in home.text and "Biên tập viên" in home.text
    assert "Thủ tục hành chính" in home.text and "Chờ phê duyệt" not in home.text  # no approver menu
    assert home.headers["cache-control"] == "no-store"


def test_pages_send_a_stranger_to_sign_in_and_back(client, add_account):
    add_account("an.nguyen", "editor")
    first = client.get("/console/account/password")
    assert first.status_code == 303
    assert first.headers["location"] == "/console/sign-in?next=/console/account/password"
    assert sign_in(client, "an.nguyen", next_path="/console/account/password").headers["location"] == (
        "/console/account/password"
    )


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/elsewhere", "/console\\..\\x"]
)
def test_after_sign_in_the_console_never_redirects_off_itself(client, add_account, target):
    add_account("an.nguyen", "editor")
    assert sign_in(client, "an.nguyen", next_path=target).headers["location"] == "/console/"


def test_a_wrong_name_and_a_wrong_password_get_the_same_answer(client, add_account):
    add_account("an.nguyen", "editor")
    wrong_password = sign_in(client, "an.nguyen", "not-the-password")
    unknown_name = sign_in(client, "nobody.here", PASSWORD)
    for answer in (wrong_password, unknown_name):
        assert answer.status_code == 401
        assert WRONG in answer.text
        assert "mb_console_session" not in answer.headers.get("set-cookie", "")
    # What was typed stays (the name), never the password.
    assert 'value="an.nguyen"' in wrong_password.text and "not-the-password" not in wrong_password.text


def test_a_sign_in_form_without_its_token_is_refused(client, add_account):
    add_account("an.nguyen", "editor")
    forged = client.post("/console/sign-in", data={"username": "an.nguyen", "password": PASSWORD})
    assert forged.status_code == 403
    assert "mb_console_session" not in forged.headers.get("set-cookie", "")


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one_and_the_name_alone(
    make_settings, add_account, new_client, engine
):
    add_account("an.nguyen", "editor")
    add_account("binh.tran", "editor")
    attacker = new_client()
    answers = [sign_in(attacker, "an.nguyen", "guess-guess-guess").status_code for _ in range(5)]
    assert answers == [401, 401, 401, 401, 429]  # the fifth says the account is now locked
    locked = sign_in(attacker, "an.nguyen", PASSWORD)
    assert locked.status_code == 429
    assert "tạm thời bị khoá" in locked.text and "mb_console_session" not in locked.headers.get(
        "set-cookie", ""
    )
    # Locked for the account (from another browser too), not for everyone.
    assert sign_in(new_client(), "an.nguyen", PASSWORD).status_code == 429
    assert sign_in(new_client(), "binh.tran", PASSWORD).status_code == 303
    # Every attempt is recorded, with what happened.
    outcomes = [r.outcome for r in reversed(accounts.recent_sign_ins(engine)) if r.username == "an.nguyen"]
    assert outcomes == ["wrong"] * 5 + ["locked", "locked"]
    # The lock lifts when the window has passed.
    with engine.begin() as conn:
        conn.execute(update(db.sign_ins).values(at=datetime.now(UTC) - timedelta(hours=1)))
    assert sign_in(new_client(), "an.nguyen", PASSWORD).status_code == 303


def test_one_client_trying_many_names_is_locked_out(make_settings, add_account, new_client):
    settings = make_settings(lock_after_client_failures=6)
    add_account("an.nguyen", "editor")
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings), raise_server_exceptions=False, follow_redirects=False) as sprayer:
        for n in range(5):
            assert sign_in(sprayer, f"guess{n}", "password-spray-1").status_code == 401
        assert sign_in(sprayer, "guess5", "password-spray-1").status_code == 429
        # The same address, a real account and its right password: refused while locked.
        assert sign_in(sprayer, "an.nguyen", PASSWORD).status_code == 429


def test_wrong_passwords_slow_the_answer_down(make_settings, add_account):
    settings = make_settings(failure_delay_step_s=0.2, failure_delay_max_s=0.4)
    add_account("an.nguyen", "editor")
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings), raise_server_exceptions=False, follow_redirects=False) as client:
        took = []
        for _ in range(3):
            started = datetime.now(UTC)
            sign_in(client, "an.nguyen", "wrong-wrong-wrong")
            took.append((datetime.now(UTC) - started).total_seconds())
    assert took[0] >= 0.2 and took[1] >= 0.4 and took[2] >= 0.4


def test_sign_out_ends_the_session_on_the_server(client, add_account):
    add_account("an.nguyen", "editor")
    sign_in(client, "an.nguyen")
    stolen = client.cookies.get("mb_console_session")
    assert client.post("/console/sign-out", data={"csrf_token": csrf_of(client)}).status_code == 303
    client.cookies.set("mb_console_session", stolen, path="/console")  # a copy kept elsewhere
    assert client.get("/console/").headers["location"].startswith("/console/sign-in")


def test_a_post_without_the_sessions_csrf_token_is_refused(client, new_client, add_account):
    add_account("an.nguyen", "editor")
    add_account("binh.tran", "editor")
    sign_in(client, "an.nguyen")
    other = new_client()
    sign_in(other, "binh.tran")
    for data in ({}, {"csrf_token": "guessed"}, {"csrf_token": csrf_of(other)}):
        refused = client.post("/console/sign-out", data=data)
        assert refused.status_code == 403
        assert "Biểu mẫu không hợp lệ" in refused.text
    assert client.get("/console/").status_code == 200  # still signed in: nothing happened


def test_an_idle_session_ends_and_says_so(client, add_account, engine):
    add_account("an.nguyen", "editor")
    sign_in(client, "an.nguyen")
    with engine.begin() as conn:
        conn.execute(update(db.sessions).values(last_seen_at=datetime.now(UTC) - timedelta(hours=2)))
    answer = client.get("/console/")
    assert answer.status_code == 303 and "reason=expired" in answer.headers["location"]
    assert "Phiên làm việc đã kết thúc" in client.get(answer.headers["location"]).text
    with engine.connect() as conn:
        assert conn.execute(select(db.sessions.c.end_reason)).scalar_one() == "expired"


def test_disabling_an_account_ends_its_session_at_once_and_refuses_sign_in(
    client, new_client, add_account, engine
):
    add_account("an.nguyen", "editor")
    sign_in(client, "an.nguyen")
    accounts.set_disabled(engine, "an.nguyen", True, now=datetime.now(UTC))
    assert client.get("/console/").status_code == 303
    assert sign_in(new_client(), "an.nguyen").status_code == 401


def test_changing_the_password_checks_each_field_and_ends_other_sessions(client, new_client, add_account):
    add_account("an.nguyen", "editor")
    elsewhere = new_client()
    sign_in(elsewhere, "an.nguyen")
    sign_in(client, "an.nguyen")
    token = csrf_of(client, "/console/account/password")

    def change(current: str, new: str, repeat: str):
        return client.post(
            "/console/account/password",
            data={"csrf_token": token, "current": current, "password": new, "password_repeat": repeat},
        )

    short = change(PASSWORD, "ngắn", "ngắn")
    assert short.status_code == 422 and 'id="password-error"' in short.text and "ít nhất 12" in short.text
    mismatch = change(PASSWORD, "một-mật-khẩu-dài", "một-mật-khẩu-khác")
    assert 'id="password_repeat-error"' in mismatch.text
    wrong_current = change("sai-mật-khẩu-cũ", "một-mật-khẩu-dài", "một-mật-khẩu-dài")
    assert 'id="current-error"' in wrong_current.text
    assert change(PASSWORD, "một-mật-khẩu-dài", "một-mật-khẩu-dài").status_code == 303
    assert client.get("/console/").status_code == 200  # this session goes on
    assert elsewhere.get("/console/").status_code == 303  # the other one ended
    assert sign_in(new_client(), "an.nguyen", "một-mật-khẩu-dài").status_code == 303
    assert sign_in(new_client(), "an.nguyen", PASSWORD).status_code == 401


def test_production_refuses_to_start_with_a_demo_account(make_settings, engine):
    settings = make_settings()
    accounts.ensure_demo_accounts(engine, now=datetime.now(UTC))
    with pytest.raises(RuntimeError, match="demo accounts"):
        create_app(settings.model_copy(update={"environment": "production"}))


def test_passwords_are_stored_as_argon2id_hashes(add_account, engine):
    add_account("an.nguyen", "editor")
    with engine.connect() as conn:
        stored = conn.execute(select(db.accounts.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
