"""The public search (issue 14): one box over what the portal discloses, accent-insensitive,
ranked, forgiving one-letter typos in long words, finding codes and document numbers.

The index is built exactly as the portal channel builds it (the pages' views ->
notifier.search.documents -> the SQLite FTS5 file) and read as the search service reads
it (read-only, another connection).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from minhbach_testing.notifier import demo_documents, document_state
from minhbach_testing.plugin import shared_dir
from notifier.channels.views.content import ContentSite
from notifier.channels.views.procedures import procedure_view
from notifier.disclosure.domain import SubjectState
from notifier.search.documents import document_document, plain_text, procedure_document
from notifier.search.domain import code_key, highlight, match_expression, parse_query, snippet
from notifier.search.index import SearchIndexReader, SearchIndexWriter

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


def subject(kind: str, subject_id: str, state: dict[str, Any], version: int = 1) -> SubjectState:
    return SubjectState(
        kind=kind, id=subject_id, version=version, state=state, updated_at=NOW, occurred_at=None
    )


def samples() -> list[dict[str, Any]]:
    data = json.loads((shared_dir() / "data" / "procedures-sample.json").read_text(encoding="utf-8"))
    return [{**p, "status": "in_force"} for p in data["procedures"]]


def documents_site() -> ContentSite:
    states = [
        *demo_documents(),
        document_state(7, 1, number="01/2019/TT-BXD", title="Thông tư số 61 năm 2018"),
    ]

    class Model:
        def of_kind(self, kind: str) -> list[SubjectState]:
            return [subject("document", str(s["id"]), s) for s in states] if kind == "document" else []

    return ContentSite.build(Model(), now=NOW, today=NOW.date(), base_url=None, vn_date=str)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> SearchIndexReader:
    root = tmp_path_factory.mktemp("portal")
    docs = [procedure_document(procedure_view(subject("procedure", p["code"], p), {})) for p in samples()]
    docs += [document_document(d) for d in documents_site().documents.values()]
    SearchIndexWriter(root).apply([d for d in docs if d is not None])
    return SearchIndexReader(root)


def found(reader: SearchIndexReader, q: str, kind: str = "procedure", limit: int = 50) -> list[str]:
    results = reader.search(parse_query(q), kind=kind, limit=limit)
    return [hit.code for group in results.groups for hit in group.hits]


CASES = json.loads((shared_dir() / "data" / "search-cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["q"] for c in CASES])
def test_every_shared_search_case(reader: SearchIndexReader, case: dict[str, Any]) -> None:
    codes = found(reader, case["q"])
    assert set(case["must"]) <= set(codes), codes
    assert not set(case["must_not"]) & set(codes), codes
    if case.get("first"):
        assert codes[0] == case["first"], codes


@pytest.mark.parametrize(
    "q",
    ["Giấy phép xây dựng", "giay phep xay dung", "GIAY PHEP XAY DUNG", "giấy phep xay dựng"],
)
def test_with_or_without_diacritics_the_same_hits(reader: SearchIndexReader, q: str) -> None:
    assert found(reader, q) == found(reader, "giấy phép xây dựng")
    assert "MB.XD.001" in found(reader, q)


def test_d_with_stroke_is_d(reader: SearchIndexReader) -> None:
    assert found(reader, "bat dong san") == found(reader, "bất động sản")
    assert found(reader, "bat dong san")[0] == "MB.BDS.001"
    assert found(reader, "Đăng") == found(reader, "dang")


def test_names_rank_above_bodies(reader: SearchIndexReader) -> None:
    # "giấy phép quy hoạch" is MB.QH.001's name; others only mention a permit in their text.
    assert found(reader, "giấy phép quy hoạch")[0] == "MB.QH.001"
    # Every procedure whose name says "gia hạn" comes before any that only mentions it.
    assert found(reader, "gia hạn")[0] == "MB.XD.004"


@pytest.mark.parametrize(
    ("typo", "meant", "code"),
    [
        ("chứng chỉ hành nghềf môi giới", "nghề", "MB.BDS.001"),  # a letter too many
        ("quy hoahc", "hoạch", "MB.QH.001"),  # two letters swapped
        ("thẩm địnhh báo cáo nghiên cứu", "định", "MB.XD.006"),
        ("hợp quy vật liêuj", "liệu", "MB.VL.001"),
    ],
)
def test_one_letter_typo_in_a_long_word_is_forgiven(
    reader: SearchIndexReader, typo: str, meant: str, code: str
) -> None:
    results = reader.search(parse_query(typo), kind="procedure", limit=5)
    codes = [h.code for g in results.groups for h in g.hits]
    assert codes and codes[0] == code, codes
    assert results.query.corrected, "the page says which words it took for what"


def test_short_words_are_not_guessed(reader: SearchIndexReader) -> None:
    # "dunz" is one letter from "dung", but a 4-letter word is one letter from too many
    # others ("xay": "nay", "hay", "may"): a short unknown word finds nothing rather than noise.
    assert found(reader, "giấy phép xây dựng") != []
    assert found(reader, "giấy phép xây dunz") == []
    assert found(reader, "qqq") == []
    # The same slip in a long word is forgiven.
    assert found(reader, "giấy phép xây dựngz") == found(reader, "giấy phép xây dựng")


@pytest.mark.parametrize("q", ["MB.XD.006", "mb.xd.006", "MB XD 006", " MB.XD.006 "])
def test_a_procedure_code_comes_first(reader: SearchIndexReader, q: str) -> None:
    assert found(reader, q)[0] == "MB.XD.006"


@pytest.mark.parametrize("q", ["61/2018/NĐ-CP", "61/2018/ND-CP", "61/2018", "nghị định 61/2018"])
def test_document_numbers(reader: SearchIndexReader, q: str) -> None:
    codes = found(reader, q, kind="document")
    assert codes[0] == "61/2018/NĐ-CP", codes
    # "61/2018" is a number, not two words: a document that says "61" and "2018" apart is not it.
    assert "01/2019/TT-BXD" not in codes


def test_a_document_that_cites_the_number_comes_after_it(reader: SearchIndexReader) -> None:
    # 107/2021/NĐ-CP amends 61/2018 and says so in its title: found, but second.
    assert found(reader, "61/2018", kind="document")[:2] == ["61/2018/NĐ-CP", "107/2021/NĐ-CP"]


def test_grouped_by_kind_in_a_fixed_order(reader: SearchIndexReader) -> None:
    results = reader.search(parse_query("một cửa"), limit=3)
    assert [g.kind.code for g in results.groups] == ["procedure", "document"]
    assert all(len(g.hits) <= 3 for g in results.groups)
    assert results.total == sum(g.total for g in results.groups) > 3


def test_pages_within_a_kind(reader: SearchIndexReader) -> None:
    everything = found(reader, "xây dựng", limit=50)
    query = parse_query("xây dựng")
    pages = [
        [h.code for g in reader.search(query, kind="procedure", skip=skip, limit=4).groups for h in g.hits]
        for skip in range(0, len(everything) + 4, 4)
    ]
    assert [c for page in pages for c in page] == everything
    assert pages[-1] == []


def test_no_index_yet_says_so(tmp_path: Path) -> None:
    results = SearchIndexReader(tmp_path).search(parse_query("giấy phép"))
    assert not results.ready and results.groups == []


def test_a_new_run_is_seen_at_once_and_removals_leave(tmp_path: Path) -> None:
    writer, reader = SearchIndexWriter(tmp_path), SearchIndexReader(tmp_path)
    first = procedure_document(procedure_view(subject("procedure", "MB.XD.001", samples()[0]), {}))
    assert first is not None
    writer.apply([first])
    assert found(reader, "giấy phép") == ["MB.XD.001"]
    writer.apply([], ["procedure:MB.XD.001"])
    assert found(reader, "giấy phép") == []  # not a cached answer from before


def test_a_procedure_not_in_force_is_not_indexed() -> None:
    state = {**samples()[0], "status": "abolished"}
    assert procedure_document(procedure_view(subject("procedure", "MB.XD.001", state), {})) is None


def test_query_syntax_is_only_words() -> None:
    query = parse_query('giấy OR "phép" NOT xây* (dựng) NEAR/2 {code}: -x ^y')
    expression = match_expression(query)
    assert all(p.startswith('"') for p in expression.split(" AND "))
    assert code_key("MB.XD.006") == code_key("mb xd 006") == "mbxd006"
    assert parse_query("x" * 10 + " ".join(str(i) for i in range(40))).terms.__len__() == 12


def test_matches_are_marked_in_the_text_as_written() -> None:
    query = parse_query("giay phep xay dung")
    marked = [t for t, hit in highlight("Cấp Giấy phép xây dựng mới", query) if hit]
    assert marked == ["Giấy", "phép", "xây", "dựng"]
    assert [t for t, hit in highlight("Đăng ký", parse_query("dang")) if hit] == ["Đăng"]


def test_a_snippet_is_cut_between_words_around_the_first_match() -> None:
    text = (
        "Mở đầu dài dòng. " * 30 + "Nộp đơn đề nghị cấp giấy phép xây dựng tại Trung tâm." + " Kết thúc." * 30
    )
    pieces = snippet(text, parse_query("giấy phép"), width=120)
    joined = "".join(t for t, _ in pieces)
    assert joined.startswith("… ") and joined.endswith(" …")
    assert "giấy phép" in joined and len(joined) <= 126
    inner = joined[2:-2]
    assert inner == inner.strip() and f" {inner} " in f" {text} "


def test_article_bodies_are_indexed_as_text() -> None:
    assert plain_text("<p>Năm 2026, Sở <strong>đẩy mạnh</strong> &amp; cải cách</p>") == (
        "Năm 2026, Sở đẩy mạnh & cải cách"
    )


def test_an_answer_is_reused_for_its_index_version_and_a_few_seconds_after() -> None:
    from notifier.search.cache import AnswerCache

    now = [100.0]
    cache = AnswerCache(max_entries=2, stale_s=5.0, clock=lambda: now[0])
    cache.put("giay phep", "v1", b"old")
    assert cache.get("giay phep", "v1") == b"old"
    now[0] += 4.0
    assert cache.get("giay phep", "v2") == b"old", "a portal run a moment ago: still good enough"
    now[0] += 2.0
    assert cache.get("giay phep", "v2") is None, "more than 5 s behind the portal: computed again"
    cache.put("a", "v2", b"a")
    cache.put("b", "v2", b"b")
    cache.put("c", "v2", b"c")
    assert cache.get("a", "v2") is None and cache.get("c", "v2") == b"c", "the least recently used goes"
    off = AnswerCache(max_entries=0, stale_s=5.0)
    off.put("a", "v1", b"a")
    assert off.get("a", "v1") is None


def test_an_index_of_an_older_layout_is_rebuilt_not_read(tmp_path: Path) -> None:
    import sqlite3

    from notifier.search.index import index_path

    path = index_path(tmp_path)
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, key TEXT)")
    old.close()
    writer = SearchIndexWriter(tmp_path)
    assert not writer.exists(), "the portal run sees no usable index and rebuilds it whole"
    doc = procedure_document(procedure_view(subject("procedure", "MB.XD.001", samples()[0]), {}))
    assert doc is not None
    writer.apply([doc], replace_all=True)
    assert writer.exists() and found(SearchIndexReader(tmp_path), "giấy phép") == ["MB.XD.001"]


def test_a_portal_wiped_and_rebuilt_is_read_anew(tmp_path: Path) -> None:
    """The search service keeps running while the portal's directory is wiped and the
    channel rebuilds it: it answers from the new index, not from the deleted file."""
    import shutil

    first, second = samples()[0], samples()[1]
    writer, reader = SearchIndexWriter(tmp_path), SearchIndexReader(tmp_path)
    doc = procedure_document(procedure_view(subject("procedure", first["code"], first), {}))
    assert doc is not None
    writer.apply([doc])
    assert found(reader, first["code"]) == [first["code"]]
    shutil.rmtree(tmp_path / ".search")
    other = procedure_document(procedure_view(subject("procedure", second["code"], second), {}))
    assert other is not None
    SearchIndexWriter(tmp_path).apply([other], replace_all=True)
    assert found(reader, first["code"]) == [] and found(reader, second["code"]) == [second["code"]]


def test_many_asking_the_same_at_once_get_one_computation(reader: SearchIndexReader) -> None:
    """The moment the portal changes, everyone searching "giấy phép xây dựng" misses the kept
    answer together: one computes it, the others wait for it, all get the same page."""
    import asyncio
    import threading
    import time

    import httpx
    from fastapi import FastAPI

    from notifier.search.routes import install_search

    computed: list[str] = []
    lock = threading.Lock()

    class Counting:
        def generation(self) -> object:
            return reader.generation()

        def search(self, *args: Any, **kwargs: Any) -> Any:
            with lock:
                computed.append(args[0].text)
            time.sleep(0.2)  # a slow query: the others arrive while it runs
            return reader.search(*args, **kwargs)

    async def ask(app: FastAPI, queries: list[str]) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://search") as client:
            return await asyncio.gather(*(client.get("/v1/search", params={"q": q}) for q in queries))

    app = FastAPI()
    install_search(app, Counting())  # type: ignore[arg-type]
    answers = asyncio.run(ask(app, ["giấy phép xây dựng"] * 20 + ["chứng chỉ hành nghề"] * 5))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers[:20]}) == 1 and answers[0].json()["groups"]
    assert sorted(computed) == ["chứng chỉ hành nghề", "giấy phép xây dựng"]
    off = FastAPI()
    install_search(off, Counting(), cache_entries=0)  # nothing kept: each computes its own
    computed.clear()
    asyncio.run(ask(off, ["giấy phép xây dựng"] * 3))
    assert len(computed) == 3
