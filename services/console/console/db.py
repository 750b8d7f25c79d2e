"""Tables of the console's database: accounts, their sessions, every sign-in attempt, and
every operator action (retry, resync) with what the notifier answered.
The console owns no domain data: procedures and the rest live with their owners."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table

from minhbach_shared.db import UtcDateTime, make_metadata

metadata = make_metadata()

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Lower-case; it is also the subject of every token the account's requests carry.
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(500), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    # Made by `make up` with a published password: production refuses to start with one.
    Column("demo", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The SHA-256 of the cookie's value: a copy of this table signs nobody in.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    # The synchronizer token every form of this session carries.
    Column("csrf_token", String(64), nullable=False),
    Column("client", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    # Set by sign-out, expiry, a disabled account or a password change.
    Column("ended_at", UtcDateTime, nullable=True),
    Column("end_reason", String(20), nullable=True),
)

sign_ins = Table(
    "sign_ins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    # As typed (trimmed, lower-cased, cut to 64): failures for names that don't exist count too.
    Column("username", String(64), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    Column("client", String(64), nullable=False),
    # ok | wrong | locked | disabled
    Column("outcome", String(16), nullable=False),
    Index("ix_sign_ins_username_at", "username", "at"),
    Index("ix_sign_ins_client_at", "client", "at"),
)

operator_actions = Table(
    "operator_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    # The account's username (the token's subject the notifier saw).
    Column("username", String(64), nullable=False),
    # retry_delivery | retry_channel | resync
    Column("action", String(32), nullable=False),
    # A delivery's id, or a channel's name.
    Column("target", String(120), nullable=False),
    # What the notifier answered, in the page's words (a refusal too).
    Column("outcome", String(500), nullable=False),
    Index("ix_operator_actions_at", "at"),
)
