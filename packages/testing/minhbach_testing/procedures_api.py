"""Stand-ins for the procedures API as the other owners ask it (minhbach_shared.procedures_api)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException

from minhbach_shared.procedures_api import ProceduresUnreachable


class KnownProcedures:
    """In place of a ProceduresApi in service-layer tests: these codes exist, no other;
    with `down` set, every question goes unanswered."""

    def __init__(self, *codes: str) -> None:
        self.codes = set(codes)
        self.down = False
        self.asked: list[str] = []

    def exists(self, code: str) -> bool:
        self.asked.append(code)
        if self.down:
            raise ProceduresUnreachable("ConnectError")
        return code in self.codes


def stand_in_app(names: Mapping[str, str]) -> FastAPI:
    """The smallest procedures API over HTTP (serve it with plugin.serving): GET
    /v1/procedures/{code} is 200 for the codes of `names`, in force, and 404 for any other."""
    app = FastAPI()

    @app.get("/v1/procedures/{code}")
    def get_procedure(code: str) -> dict[str, Any]:
        if code not in names:
            raise HTTPException(status_code=404, detail=f"procedure {code} not found")
        return {"code": code, "status": "in_force", "version": 1, "name": names[code]}

    return app
