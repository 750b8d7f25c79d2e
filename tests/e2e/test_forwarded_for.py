"""A client that sets X-Forwarded-For itself gets no new identity (issue 12), run as
`make up` runs the services (the Procfile's commands, its environment): the hotline's
public form and look-up count the connection's address, whatever the header says.
(docker compose: tests/compose/test_live.py, through nginx.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from minhbach_testing.harness import System, running_system

TICKET = {
    "kind": "kien_nghi",
    "subject": "Đề nghị công khai quy hoạch",
    "body": "Đề nghị Sở công khai bản đồ quy hoạch phân khu.",
    "name": "Trần Văn Hùng",
    "phone": "0912000444",
}


@pytest.fixture(scope="module")
def hotline_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    root: Path = tmp_path_factory.mktemp("forwarded")
    with running_system(
        root, ("procedures", "hotline"), HOTLINE_PUBLIC_RATE_LIMIT="3", HOTLINE_LOOKUP_RATE_LIMIT="3"
    ) as system:
        yield system


def test_a_forged_x_forwarded_for_is_not_a_new_client(hotline_only: System) -> None:
    url = hotline_only.hotline_url
    statuses = [
        httpx.post(
            f"{url}/v1/public/tickets", json=TICKET, headers={"X-Forwarded-For": f"203.0.113.{i}"}, timeout=10
        ).status_code
        for i in range(6)
    ]
    assert statuses[:3] == [202, 202, 202] and statuses[3:] == [429, 429, 429]
    lookups = [
        httpx.get(
            f"{url}/v1/public/tickets/PAKN-2026-7K3M-9QX{i}",
            headers={"X-Forwarded-For": f"198.51.100.{i}", "Forwarded": f"for=198.51.100.{i}"},
            timeout=10,
        ).status_code
        for i in range(5)
    ]
    assert lookups[:3] == [404, 404, 404] and lookups[3:] == [429, 429]
