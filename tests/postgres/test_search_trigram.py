"""The PostgreSQL search path on its pg_trgm GIN indexes (migration 0003), at a few thousand procedures.

The procedures are bulk-inserted as the write path leaves them (`search.search_columns`),
with bodies taken from the sample catalogue; four crafted ones carry words no other
procedure holds. EXPLAIN runs on the very statements `procedures.search.search` executes
(captured from the engine), after VACUUM ANALYZE. No timings: the plan is the claim.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, event, insert, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import Session

from minhbach_shared.db import make_engine, migrate
from minhbach_testing.plugin import PostgresServer, shared_dir
from procedures import search
from procedures.db import procedures
from procedures.manage import MIGRATIONS

SAMPLE = json.loads((shared_dir() / "data" / "procedures-sample.json").read_text(encoding="utf-8"))
FILLER = 3000
TRGM_INDEXES = {"ix_procedures_search_name_trgm", "ix_procedures_search_body_trgm"}

# No sample text folds to anything holding "dua", "thuyen" or "vanh"; the filler names
# below do not either.
CRAFTED = {
    # both words of "đua thuyền" in the name
    "ZZ.DL.001": {"name": "Cấp phép tổ chức đua thuyền truyền thống tại Cồn Vành"},
    # both words in the body only (its result)
    "ZZ.DL.002": {
        "name": "Cấp phép tổ chức lễ hội văn hóa biển",
        "result": "Văn bản chấp thuận tổ chức ĐUA THUYỀN",
    },
    # "thuyền" but no "đua": not a hit for "đua thuyền"
    "ZZ.DL.003": {"name": "Cấp phép cho thuê thuyền du lịch tại Cồn Vành"},
    # "đua" but no "thuyền"
    "ZZ.DL.004": {"name": "Cấp phép tổ chức giải đua xe đạp thể thao"},
}
ACTIONS = ["Cấp", "Cấp lại", "Điều chỉnh", "Gia hạn", "Thu hồi", "Thẩm định", "Công bố"]
OBJECTS = [
    "giấy phép xây dựng",
    "chứng chỉ hành nghề hoạt động xây dựng",
    "giấy phép quy hoạch dự án",
    "giấy chứng nhận quyền sử dụng đất",
    "hồ sơ hoàn công công trình",
    "giấy phép môi trường",
]


def _content(code: str, i: int) -> dict[str, Any]:
    base = SAMPLE["procedures"][i % len(SAMPLE["procedures"])]
    content = {k: copy.deepcopy(v) for k, v in base.items() if k != "code"}
    if code in CRAFTED:
        content.update(CRAFTED[code])
    else:
        content["name"] = f"{ACTIONS[i % len(ACTIONS)]} {OBJECTS[(i // len(ACTIONS)) % len(OBJECTS)]} số {i}"
    return content


@pytest.fixture(scope="module")
def seeded(postgres_server: PostgresServer) -> Iterator[Engine]:
    """Migrated to head, FILLER + 4 procedures in force, vacuumed and analysed."""
    url = postgres_server.create_database("search_trigram")
    migrate(url, MIGRATIONS)
    engine = make_engine(url)
    now = datetime.now(UTC)
    codes = [f"T.{i:05d}" for i in range(FILLER)] + list(CRAFTED)
    rows = []
    for i, code in enumerate(codes):
        content = _content(code, i)
        rows.append(
            {
                "code": code,
                "status": "in_force",
                "version": 1,
                "published": content,
                "name": content["name"],
                "field": content["field"],
                "effective_at": now,
                **search.search_columns(code, content),
                "created_at": now,
                "updated_at": now,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(procedures), rows)
    # ANALYZE for the statistics; VACUUM moves the rows from the GIN indexes' pending list
    # (fastupdate: a bulk insert lands there) into the index proper, as autovacuum does
    # on a live database. Planned over a 3,000-row pending list, a seq scan is cheaper.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE procedures"))
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass
class Traced:
    codes: list[str]
    total: int
    plans: list[str]  # EXPLAIN of the count statement, then of the page statement


def traced_search(engine: Engine, q: str, *, page: int = 1, size: int = 20) -> Traced:
    """`procedures.search.search`, and the EXPLAIN of each statement it ran."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as session:
            found = search.search(session, q=q, field=None, status="in_force", page=page, size=size)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) == 2, statements  # the count, then the page
    plans = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            lines = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
            plans.append("\n".join(lines))
    return Traced(codes=[r.code for r in found.rows], total=found.total, plans=plans)


def test_the_migration_makes_the_trigram_indexes(seeded: Engine) -> None:
    with seeded.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")).scalar() == 1
        found = dict(
            conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'procedures'")
            ).all()
        )
    assert set(found) >= TRGM_INDEXES
    assert "USING gin (search_name gin_trgm_ops)" in found["ix_procedures_search_name_trgm"]
    assert "USING gin (search_body gin_trgm_ops)" in found["ix_procedures_search_body_trgm"]


@pytest.mark.parametrize("q", ["thuyền", "thuyen", "Cồn Vành"])
def test_a_selective_word_is_found_through_the_trigram_indexes(seeded: Engine, q: str) -> None:
    traced = traced_search(seeded, q)
    for plan in traced.plans:
        for index in sorted(TRGM_INDEXES):
            assert f"Bitmap Index Scan on {index}" in plan, plan
        assert "Seq Scan" not in plan, plan
    expected = ["ZZ.DL.001", "ZZ.DL.002", "ZZ.DL.003"] if "thuy" in q else ["ZZ.DL.001", "ZZ.DL.003"]
    assert sorted(traced.codes) == expected and traced.total == len(expected)


@pytest.mark.parametrize("q", ["đua thuyền", "dua thuyen", "ĐUA THUYỀN", "Đua   Thuyen"])
def test_every_word_must_match_and_the_name_ranks_first(seeded: Engine, q: str) -> None:
    traced = traced_search(seeded, q)
    # ZZ.DL.003 has only "thuyền", ZZ.DL.004 only "đua"; the name hit comes before the body hit.
    assert traced.codes == ["ZZ.DL.001", "ZZ.DL.002"] and traced.total == 2
    assert all("Bitmap Index Scan on ix_procedures_search_" in plan for plan in traced.plans)
    second = traced_search(seeded, q, page=2, size=1)
    assert second.codes == ["ZZ.DL.002"] and second.total == 2


def test_a_code_finds_its_procedure_first(seeded: Engine) -> None:
    traced = traced_search(seeded, "zz.dl.003")
    assert traced.codes[0] == "ZZ.DL.003"
    assert traced_search(seeded, "T.02345").codes[0] == "T.02345"


def test_a_common_word_still_finds_everything(seeded: Engine) -> None:
    # "cap" is in every name: the planner may read the table instead, the answer is the same.
    assert traced_search(seeded, "cấp").total == FILLER + len(CRAFTED)


def test_the_owner_of_its_database_migrates_without_being_superuser(postgres_server: PostgresServer) -> None:
    """pg_trgm is a trusted extension: as in docker compose, the service user owning its
    database may create it. Downgrading drops the indexes, upgrading makes them again."""
    admin = make_url(postgres_server.url())
    role, password, database = "procedures_owner", "owner-secret", "owned_by_the_service"
    with psycopg.connect(
        host=admin.host,
        port=admin.port,
        user=admin.username,
        password=admin.password,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(role))
        )
    url = admin.set(username=role, password=password, database=database).render_as_string(hide_password=False)
    migrate(url, MIGRATIONS)
    engine = make_engine(url)

    def trigram_indexes() -> set[str]:
        with engine.connect() as conn:
            return set(
                conn.execute(
                    text(
                        "SELECT indexname FROM pg_indexes"
                        " WHERE tablename = 'procedures' AND indexname LIKE '%trgm'"
                    )
                ).scalars()
            )

    try:
        with engine.connect() as conn:
            assert (
                conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
                is False
            )
        assert trigram_indexes() == TRGM_INDEXES
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        command.downgrade(cfg, "0002")
        assert trigram_indexes() == set()
        command.upgrade(cfg, "head")
        assert trigram_indexes() == TRGM_INDEXES
    finally:
        engine.dispose()
