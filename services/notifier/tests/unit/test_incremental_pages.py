"""A run renders only what changed (issue 15), and what it leaves on disk is exactly what a
fresh channel rendering everything from the same read model writes.

A seeded random history of changes — procedures published, amended (processing time,
name, field), abolished, replaced, decisions applied, the hotline's phones changed — is
disclosed run by run on the portal and the centre; after every few runs a fresh channel
renders everything into another directory, and every file must be equal, byte for byte.
The clocks are fixed, so "generated at" is equal too. And the work of a one-change run is
the changed page and the pages that list it, not every list.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from minhbach_testing.notifier import (
    decision_ref,
    decision_state,
    envelope,
    hotline_statistics,
    pending_delivery,
    procedure_state,
)
from notifier.channels import center as center_module
from notifier.channels import portal as portal_module
from notifier.channels.center import CenterChannel
from notifier.channels.portal import PortalChannel
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure
from notifier.hotline import services as hotline_services
from notifier.search.index import SearchIndexWriter

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
PORTAL_URL = "https://sxd.thaibinh.gov.vn/portal"
FIELDS = ["Hoạt động xây dựng", "Quy hoạch xây dựng", "Nhà ở", "Vật liệu xây dựng"]


def files(root: Path) -> dict[str, bytes]:
    # The channel's lock file is no page (a fresh channel that took no lock has none). The
    # search index is a database file (row ids, free pages): compared by its content.
    found = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock" and ".search" not in p.parts
    }
    if (root / ".search").is_dir():
        found[".search (content)"] = repr(SearchIndexWriter(root).snapshot()).encode()
    return found


@pytest.fixture
def parts(make_notifier, tmp_path):
    parts = make_notifier()
    parts.channels["portal"] = portal(tmp_path / "portal", clock=lambda: NOW)
    parts.channels["center"] = centre(tmp_path / "center", clock=lambda: NOW)
    return parts


def portal(root: Path, **options) -> PortalChannel:
    """The portal with its public address (its feeds' links are absolute), its lists paged
    by three and the list of all giving way to the fields past eight: the histories cross
    both thresholds both ways."""
    return PortalChannel(root, portal_url=PORTAL_URL, list_page_size=3, list_all_up_to=8, **options)


def centre(root: Path, **options) -> CenterChannel:
    """The centre with its notices' QR codes (they lead to the portal), its board giving way
    to the fields past eight, each field's pages by three."""
    return CenterChannel(root, portal_url=PORTAL_URL, board_all_up_to=8, board_page_size=3, **options)


def full_render(parts, channel_type, root: Path) -> dict[str, bytes]:
    """What a channel that never ran before writes for every subject of the read model."""
    fresh = channel_type(root, clock=lambda: NOW)
    with Session(parts.engine) as session:
        model = repo.SubjectCache().load(session)
    batch = [
        pending_delivery(i, fresh.name, s.kind, s.id, s.version, at=NOW)
        for i, s in enumerate(model.by_key.values(), start=1)
        if s.kind in fresh.kinds
    ]
    outcomes = fresh.deliver(batch, model)
    assert all(o.ok for o in outcomes.values())
    return files(root)


class History:
    """The owner's side: procedures and decisions changing, as an owner publishes them."""

    def __init__(self, parts, owner, hotline_owner, rng: random.Random) -> None:
        self.parts, self.owner, self.hotline_owner, self.rng = parts, owner, hotline_owner, rng
        self.procedures: dict[str, dict] = {}
        self.decision_id = 100
        self.scheduled: list[dict] = []

    def _decision(self, code: str, action: str, changed: list | None = None) -> dict:
        self.decision_id += 1
        number = f"{self.decision_id}/QĐ-SXD"
        status = "scheduled" if self.rng.random() < 0.25 else "in_effect"
        change = {"action": action, "procedure_code": code, "procedure_name": code, "replaced_by": None}
        state = decision_state(
            self.decision_id,
            number=number,
            status=status,
            changes=[change | ({"changes": changed} if changed is not None else {})],
        )
        self.owner.put("decision", state)
        if status == "scheduled":
            self.scheduled.append(state)
        return state

    def apply_one(self) -> list:
        """A scheduled decision comes into effect: it dates its procedures' changes anew."""
        state = self.scheduled.pop(0)
        day = self.rng.randint(1, 28)
        applied = {**state, "status": "in_effect", "version": 2, "applied_at": f"2026-12-{day:02d}T02:00:00Z"}
        self.owner.put("decision", applied)
        return [envelope("decision", str(state["id"]), 2)]

    def step(self) -> list:
        """One change, as its events."""
        rng = self.rng
        codes = sorted(self.procedures)
        choice = rng.random()
        if self.scheduled and rng.random() < 0.15:
            return self.apply_one()
        if not codes or choice < 0.3:
            code = f"MB.T.{len(codes) + 1:03d}"
            return self._publish(code, action="new", field=rng.choice(FIELDS), name=f"Thủ tục thử {code}")
        code = rng.choice(codes)
        p = self.procedures[code]
        if p["status"] != "in_force":
            code = f"MB.T.{len(codes) + 1:03d}"
            return self._publish(code, action="new", field=rng.choice(FIELDS), name="Mới")
        if choice < 0.6:
            # What the amendment changed, as the owner says it (the pages, notice and feed show it).
            before, after = p["processing_time"], {"value": rng.randint(5, 30), "unit": "working_days"}
            p["processing_time"] = after
            changed = [{"component": "processing_time", "before": before, "after": after}]
            return self._publish(code, action="amend", changed=changed)
        if choice < 0.7:
            return self._publish(code, action="amend", name=f"{p['name']} (sửa tên)")
        if choice < 0.8:
            return self._publish(code, action="amend", field=rng.choice(FIELDS))
        if choice < 0.87:
            return self._publish(code, action="abolish", status="abolished")
        if choice < 0.94 and len(codes) > 1:
            successor = rng.choice([c for c in codes if c != code])
            return self._publish(code, action="replace", status="replaced", replaced_by=successor)
        phones = [f"0227 3{rng.randint(100000, 999999)}"]
        self.hotline_owner.documents["statistics"] = hotline_statistics(phones=phones)
        hotline_services.refresh_statistics(self.parts)  # as reconcile and ticket events do
        return []

    def _publish(self, code: str, *, action: str, changed: list | None = None, **changes) -> list:
        before = self.procedures.get(code)
        version = (before["version"] + 1) if before else 1
        decision = self._decision(code, action, changed)
        ref = decision_ref(decision["id"], decision["number"])
        actions = [*(before or {}).get("_actions", []), (action, ref)]
        summaries = {**(before or {}).get("_summaries", {}), version: changed}
        base = {k: v for k, v in (before or {}).items() if not k.startswith("_")}
        state = procedure_state(
            code,
            version,
            name=changes.get("name", base.get("name", code)),
            field=changes.get("field", base.get("field", FIELDS[0])),
            status=changes.get("status", "in_force"),
            replaced_by=changes.get("replaced_by"),
            actions=actions,
        )
        if "processing_time" in base:
            state["processing_time"] = base["processing_time"]
        for entry in state["history"]:
            if summaries.get(entry["version"]) is not None:
                entry["changes"] = summaries[entry["version"]]
        self.owner.put("procedure", state)
        self.procedures[code] = {**state, "_actions": actions, "_summaries": summaries}
        return [envelope("procedure", code, version), envelope("decision", str(decision["id"]), 1)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_runs_write_exactly_what_a_full_render_writes(
    parts, owner, hotline_owner, tmp_path, seed
):
    history = History(parts, owner, hotline_owner, random.Random(seed))
    for step in range(40):
        disclosure.ingest(parts, history.step())
        for channel in ("portal", "center"):
            disclosure.run_channel(parts, channel)
        if step % 10 == 9:
            for name, channel_type in (("portal", portal), ("center", centre)):
                expected = full_render(parts, channel_type, tmp_path / f"fresh-{name}-{step}")
                assert files(tmp_path / name) == expected, f"{name} after step {step}"
    # The history had amendments that say what they changed, and notices with QR codes.
    pages = files(tmp_path / "portal")
    changed = "Thời hạn giải quyết: ".encode()
    assert any(changed in page and "→".encode() in page for page in pages.values())
    assert any(b'class="qr-code"' in page for page in files(tmp_path / "center").values())
    # Each field has its feed of changes, with links from the portal's address.
    feeds = {
        name: page for name, page in pages.items() if name.startswith("linh-vuc/") and name.endswith(".xml")
    }
    assert feeds and all(f'href="{PORTAL_URL}/thu-tuc/'.encode() in page for page in feeds.values())
    # The lists were paged, and the list of all gave way to the fields; the board too.
    assert any("-tu-" in name for name in pages), sorted(pages)
    assert "Chọn lĩnh vực để xem danh sách".encode() in pages["thu-tuc/index.html"]
    board = files(tmp_path / "center")
    assert any(name.startswith("linh-vuc-") and "-tu-" in name for name in board), sorted(board)
    assert "Chọn lĩnh vực để xem thủ tục".encode() in board["index.html"]
    linked = set(re.findall(r'<a href="(linh-vuc-[^"]+\.html)"', board["index.html"].decode()))
    assert linked and linked <= set(board), "the board links each field's first page"


@pytest.mark.parametrize(
    "wipe",
    [
        # A page of a field's list on each side.
        ["portal/linh-vuc/*.html", "center/linh-vuc-*.html"],
        # Pages a procedure's change does not touch: a section's feed, the lists of documents
        # and of answers.
        ["portal/tin-tuc/feed.xml"],
        ["portal/van-ban/index.html"],
        ["portal/hoi-dap/index.html"],
    ],
)
def test_a_list_page_wiped_between_runs_is_written_again_by_the_next_run(
    parts, owner, hotline_owner, tmp_path, wipe
):
    history = History(parts, owner, hotline_owner, random.Random(4))
    for _ in range(30):
        disclosure.ingest(parts, history.step())
    for channel in ("portal", "center"):
        disclosure.run_channel(parts, channel)
    # Gone behind the channels' backs (an operator's slip, a restore of an older backup):
    # the next run, whatever it delivers, brings it back.
    wiped = [sorted(tmp_path.glob(pattern))[-1] for pattern in wipe]
    for page in wiped:
        page.unlink()
    while not (envelopes := history.step()):
        pass
    disclosure.ingest(parts, envelopes)
    for channel in ("portal", "center"):
        disclosure.run_channel(parts, channel)
    assert all(page.is_file() for page in wiped)
    for name, channel_type in (("portal", portal), ("center", centre)):
        assert files(tmp_path / name) == full_render(parts, channel_type, tmp_path / f"fresh-{name}"), name


def test_a_one_change_run_writes_the_changed_page_and_the_lists_that_show_it(
    parts, owner, hotline_owner, monkeypatch
):
    history = History(parts, owner, hotline_owner, random.Random(7))
    for _ in range(30):
        disclosure.ingest(parts, history.step())
    disclosure.run_channel(parts, "portal")
    disclosure.run_channel(parts, "center")
    code = next(c for c, p in sorted(history.procedures.items()) if p["status"] == "in_force")
    field = history.procedures[code]["field"]
    written: list[str] = []
    for module, root in ((portal_module, "portal"), (center_module, "center")):
        real = module.write_atomic

        def spy(path, text, real=real, root=root):
            written.append(f"{root}:{Path(path).relative_to(parts.channels[root].root).as_posix()}")
            real(path, text)

        monkeypatch.setattr(module, "write_atomic", spy)
    # A new processing time: the procedure's page, its row in its field's list and in the
    # list of all, and its field's feed; the hotline form (codes and names only) and other
    # fields untouched.
    listed = {side: parts.channels[side].catalogue.fields() for side in ("portal", "center")}
    history.procedures[code]["processing_time"] = {"value": 3, "unit": "working_days"}
    disclosure.ingest(parts, history._publish(code, action="amend"))
    disclosure.run_channel(parts, "portal")
    disclosure.run_channel(parts, "center")
    # Its field's procedures are the same: its pages were not paged again.
    for side in ("portal", "center"):
        assert [f["stamp"] for f in parts.channels[side].catalogue.fields()] == [
            f["stamp"] for f in listed[side]
        ], side
    portal = {w.split(":", 1)[1] for w in written if w.startswith("portal:")}
    channel = parts.channels["portal"]
    slug = channel.catalogue.slugs[field]
    # The one page of its field's list that holds it, and the field's feed.
    (listed,) = [f for f in channel.catalogue.fields() if f["name"] == field]
    page = next(p for p in channel.field_pages.of(listed) if code in p.codes)
    field_pages = {f"linh-vuc/{page.name}", f"linh-vuc/{slug}.xml"}
    assert {f"thu-tuc/{code}.html", "thu-tuc/index.html", *field_pages} <= portal
    assert "hoi-dap/gui-phan-anh.html" not in portal
    assert not {p for p in portal if p.startswith("linh-vuc/") and p not in field_pages}
    # Articles, answers and documents did not change: neither did their lists and feeds
    # (an empty section's feed was dated by the run, so it was written on every run).
    sections = {
        f"{c.dir}/{name}" for c in portal_module.CATEGORIES.values() for name in ("index.html", "feed.xml")
    }
    assert (
        sections
        and not {"hoi-dap/index.html", "hoi-dap/feed.xml", "van-ban/index.html", "van-ban/feed.xml"} & portal
    )
    assert not sections & portal
    center = {w.split(":", 1)[1] for w in written if w.startswith("center:")}
    board_page = next(p for p in parts.channels["center"].field_pages.of(listed) if code in p.codes).name
    assert center == {f"thu-tuc/{code}.html", "index.html", "board.json", board_page}


def test_a_field_that_shrinks_loses_its_other_pages_on_both_sides(parts, owner, hotline_owner, tmp_path):
    history = History(parts, owner, hotline_owner, random.Random(5))
    field = FIELDS[1]
    codes = [f"MB.S.{n:03d}" for n in range(1, 11)]
    for code in codes:  # ten in one field: several pages (of about three) on each side
        disclosure.ingest(parts, history._publish(code, action="new", field=field, name=f"Thủ tục {code}"))
    for n in range(1, 10):  # and nine in another: the board stays paged (past eight) throughout
        code = f"MB.K.{n:03d}"
        disclosure.ingest(
            parts, history._publish(code, action="new", field=FIELDS[2], name=f"Thủ tục {code}")
        )
    for channel in ("portal", "center"):
        disclosure.run_channel(parts, channel)
    slug = parts.channels["portal"].catalogue.slugs[field]
    portal_pages, board_pages = tmp_path / "portal" / "linh-vuc", tmp_path / "center"
    assert len(list(portal_pages.glob(f"{slug}-tu-*.html"))) >= 2
    assert len(list(board_pages.glob(f"linh-vuc-{slug}-tu-*.html"))) >= 2
    for code in codes[1:]:  # one left: one page
        disclosure.ingest(parts, history._publish(code, action="abolish", status="abolished"))
    for channel in ("portal", "center"):
        disclosure.run_channel(parts, channel)
    assert (board_pages / f"linh-vuc-{slug}.html").is_file(), "the board is still paged"
    assert (portal_pages / f"{slug}.html").is_file()
    assert not list(portal_pages.glob(f"{slug}-tu-*.html"))
    assert not list(board_pages.glob(f"linh-vuc-{slug}-tu-*.html"))
    for name, channel_type in (("portal", portal), ("center", centre)):
        assert files(tmp_path / name) == full_render(parts, channel_type, tmp_path / f"fresh-{name}"), name


def test_a_procedure_added_mid_field_rewrites_its_page_and_the_first_not_the_pages_after_it(
    parts, owner, hotline_owner, tmp_path, monkeypatch
):
    history = History(parts, owner, hotline_owner, random.Random(6))
    field = FIELDS[0]
    for n in range(10, 410, 10):  # forty in one field: a dozen pages or so on each side
        code = f"MB.L.{n:03d}"
        disclosure.ingest(parts, history._publish(code, action="new", field=field, name=f"Thủ tục {code}"))
    for channel in ("portal", "center"):
        disclosure.run_channel(parts, channel)
    slug = parts.channels["portal"].catalogue.slugs[field]
    before = {}
    for side in ("portal", "center"):
        listed = next(f for f in parts.channels[side].catalogue.fields() if f["name"] == field)
        before[side] = [p.name for p in parts.channels[side].field_pages.of(listed)]
    assert len(before["portal"]) >= 8 and len(before["center"]) >= 8
    written: dict[str, list[str]] = {"portal": [], "center": []}
    for module, side in ((portal_module, "portal"), (center_module, "center")):
        real = module.write_atomic

        def spy(path, text, real=real, side=side):
            written[side].append(Path(path).name)
            real(path, text)

        monkeypatch.setattr(module, "write_atomic", spy)
    # A new procedure whose code sorts among the first fifth of the field.
    code = "MB.L.075"
    disclosure.ingest(parts, history._publish(code, action="new", field=field, name=f"Thủ tục {code}"))
    for side in ("portal", "center"):
        disclosure.run_channel(parts, side)
        channel = parts.channels[side]
        listed = next(f for f in channel.catalogue.fields() if f["name"] == field)
        pages = channel.field_pages.of(listed)
        holder = next(i for i, p in enumerate(pages) if code in p.codes)
        first = f"{slug}.html" if side == "portal" else f"linh-vuc-{slug}.html"
        lists = {
            name
            for name in written[side]
            if name.startswith(first.removesuffix(".html")) and name.endswith(".html")
        }
        # Its own page and the first, which counts the field; where it opened a page, the
        # page it was cut from and the next one (its link back) too. The pages after it
        # kept their rows, their names and their files.
        assert lists <= {first, *[p.name for p in pages[max(0, holder - 1) : holder + 2]]}, (side, lists)
        after = [p.name for p in pages[holder + 2 :]]
        assert len(after) >= 3 and set(after) <= set(before[side]), side
    for name, channel_type in (("portal", portal), ("center", centre)):
        assert files(tmp_path / name) == full_render(parts, channel_type, tmp_path / f"fresh-{name}"), name
