"""A portal and a centre whose lists are paged (issue 15): the browser tests of a field's
pages (test_center_kiosk.py, test_portal_accessibility.py).

Twelve procedures in one field and two in another, past the limits of four (200 as
shipped), each field's list in pages of about three (100 as shipped). Rendered by the real
channels from their read model (SQLite, Redis, the notifier's run), the owner a FakeOwner;
served over HTTP as the notifier serves /portal/ and /center/.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FIELDS = {"Hoạt động xây dựng": 12, "Nhà ở": 2}


def codes(field: str) -> list[str]:
    prefix = "NO" if field == "Nhà ở" else "XD"
    return [f"MB.{prefix}.{n:03d}" for n in range(1, FIELDS[field] + 1)]


def label(codes: list[str]) -> str:
    """How a field's page is named where it is listed and on the page itself."""
    return f"Từ mã {codes[0]} đến mã {codes[-1]}" if len(codes) > 1 else f"Mã {codes[0]}"


@contextmanager
def paged_lists(root: Path, redis_url: str) -> Iterator[str]:
    """Yields the address the portal and the centre are served under (`/portal/`, `/center/`)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from minhbach_testing.notifier import FakeOwner, envelope, notifier_on, procedure_state
    from minhbach_testing.plugin import serving
    from notifier.channels.center import CenterChannel
    from notifier.channels.portal import PortalChannel
    from notifier.disclosure import services as disclosure

    owner = FakeOwner()
    parts = notifier_on(root, redis_url, owner)
    parts.channels["portal"] = PortalChannel(root / "portal", list_all_up_to=4, list_page_size=3)
    parts.channels["center"] = CenterChannel(root / "center", board_all_up_to=4, board_page_size=3)
    events = []
    for field in FIELDS:
        for code in codes(field):
            owner.put("procedure", procedure_state(code, 1, name=f"Thủ tục {code}", field=field))
            events.append(envelope("procedure", code, 1))
    disclosure.ingest(parts, events)
    disclosure.run_channel(parts, "portal")
    disclosure.run_channel(parts, "center")
    app = Starlette(
        routes=[
            Mount(f"/{side}", StaticFiles(directory=root / side, html=True)) for side in ("portal", "center")
        ]
    )
    try:
        with serving(app) as base:
            yield base
    finally:
        parts.engine.dispose()
