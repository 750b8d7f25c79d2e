"""A field's list in pages whose breaks the codes themselves set (views.catalogue.paged):
a procedure added or gone changes its own page, not every page after it."""

from __future__ import annotations

import random

from notifier.channels.views.catalogue import paged


def codes_like_the_national_database(count: int, rng: random.Random) -> list[str]:
    return sorted({f"1.{rng.randint(0, 999_999):06d}.000.00.00.H56" for _ in range(count)})


def test_the_pages_hold_every_code_once_in_order_and_lead_from_one_to_the_next():
    codes = codes_like_the_national_database(2000, random.Random(1))
    pages = paged(codes, 100, "hoat-dong-xay-dung")
    assert [c for p in pages for c in p.codes] == codes
    # About a hundred a page: none of the pages but the last shorter than half that, none
    # longer than three times.
    assert 10 <= len(pages) <= 40
    assert all(50 <= len(p.codes) <= 300 for p in pages[:-1])
    assert pages[0].name == "hoat-dong-xay-dung.html"
    assert [p.name for p in pages[1:]] == [f"hoat-dong-xay-dung-tu-{p.codes[0]}.html" for p in pages[1:]]
    assert [p.page for p in pages] == list(range(1, len(pages) + 1))
    assert [p.next for p in pages] == [p.name for p in pages[1:]] + [None]
    assert [p.previous for p in pages] == [None] + [p.name for p in pages[:-1]]
    # The first page alone counts the list and leads to every page by its range.
    assert pages[0].total == len(codes)
    assert [(r.name, r.first, r.last) for r in pages[0].contents] == [
        (p.name, p.codes[0], p.codes[-1]) for p in pages
    ]
    assert all(p.total is None and p.contents == () for p in pages[1:])


def test_an_empty_or_short_list_is_one_page():
    assert [(p.name, p.codes, p.next) for p in paged([], 100, "nha-o")] == [("nha-o.html", [], None)]
    (one,) = paged(["MB.NO.001", "MB.NO.002"], 100, "nha-o")
    assert (one.name, one.codes, one.previous, one.next) == (
        "nha-o.html",
        ["MB.NO.001", "MB.NO.002"],
        None,
        None,
    )


def test_a_code_added_or_removed_changes_its_own_page_not_the_pages_after_it():
    rng = random.Random(2)
    codes = codes_like_the_national_database(2000, rng)
    before = {p.name: p.codes for p in paged(codes, 100, "f")}
    changed_pages = []
    for _ in range(200):
        added = sorted({*codes, f"1.{rng.randint(0, 999_999):06d}.000.00.00.H57"})
        gone = rng.choice(codes)
        removed = [c for c in codes if c != gone]
        for after in (added, removed):
            now = {p.name: p.codes for p in paged(after, 100, "f")}
            changed_pages.append({n for n in before.keys() | now.keys() if before.get(n) != now.get(n)})
    # Paged by position, a code added near the start moved the rows of some twenty pages.
    assert max(len(c) for c in changed_pages) <= 6
    assert sum(len(c) == 1 for c in changed_pages) >= 0.9 * len(changed_pages)
