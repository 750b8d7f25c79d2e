"""A stand-in for minhbach_shared.procedures_api.ProceduresApi in service-layer tests."""

from __future__ import annotations

from minhbach_shared.procedures_api import ProceduresUnreachable


class KnownProcedures:
    """These codes exist, no other; with `down` set, every question goes unanswered."""

    def __init__(self, *codes: str) -> None:
        self.codes = set(codes)
        self.down = False
        self.asked: list[str] = []

    def exists(self, code: str) -> bool:
        self.asked.append(code)
        if self.down:
            raise ProceduresUnreachable("ConnectError")
        return code in self.codes
