"""The one client of the procedures API, against a real HTTP stand-in (a thread, no process)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from minhbach_shared.observability import CORRELATION_HEADER, correlation_id
from minhbach_shared.procedures_api import ProceduresApi, ProceduresUnreachable
from minhbach_testing.plugin import free_port, serving

SEEN: list[tuple[str, str | None]] = []


def _stand_in() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/procedures/{code}")
    def get_procedure(code: str, request: Request) -> JSONResponse:
        SEEN.append((code, request.headers.get(CORRELATION_HEADER)))
        if code == "MB.XD.001":
            return JSONResponse({"code": code, "status": "in_force", "version": 1})
        if code == "BROKEN":
            return JSONResponse({"detail": "database is locked"}, status_code=500)
        if code == "SLOW":
            time.sleep(1.0)
        return JSONResponse({"detail": f"procedure {code} not found"}, status_code=404)

    return app


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(_stand_in()) as url:
        yield url


@pytest.fixture
def api(base_url: str) -> Iterator[ProceduresApi]:
    api = ProceduresApi(base_url, timeout_s=0.3)
    yield api
    api.close()


def test_a_code_exists_or_not_and_the_request_carries_the_correlation_id(api: ProceduresApi) -> None:
    token = correlation_id.set("req-42")
    try:
        assert api.exists("MB.XD.001") is True
        assert api.exists("MB.XD.999") is False
    finally:
        correlation_id.reset(token)
    assert SEEN[-2:] == [("MB.XD.001", "req-42"), ("MB.XD.999", "req-42")]


def test_a_server_error_or_a_timeout_is_no_answer_not_a_no(api: ProceduresApi) -> None:
    with pytest.raises(ProceduresUnreachable, match="HTTP 500 for BROKEN"):
        api.exists("BROKEN")
    with pytest.raises(ProceduresUnreachable, match="ReadTimeout"):
        api.exists("SLOW")


def test_an_api_that_is_down_is_no_answer() -> None:
    api = ProceduresApi(f"http://127.0.0.1:{free_port()}", timeout_s=0.3)
    with pytest.raises(ProceduresUnreachable, match="ConnectError"):
        api.exists("MB.XD.001")
    api.close()
