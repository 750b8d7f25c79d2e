"""Test doubles kept in the tree: a fake owner and contract-shaped states."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from minhbach_shared.events import Envelope, Subject
from notifier.owners import Versions


class FakeOwner:
    """An owner API in memory: states by (kind, id); can be switched off."""

    def __init__(self) -> None:
        self.states: dict[tuple[str, str], dict[str, Any]] = {}
        self.fetches: list[tuple[str, str]] = []
        self.down = False

    def put(self, kind: str, state: dict[str, Any]) -> dict[str, Any]:
        key = (kind, str(state.get("code") or state["id"]))
        self.states[key] = state
        return state

    def fetch(self, subject: Subject) -> dict[str, Any] | None:
        if self.down:
            raise httpx.ConnectError("owner is down")
        key = (subject.kind.value, subject.id)
        self.fetches.append(key)
        state = self.states.get(key)
        return copy.deepcopy(state) if state is not None else None

    def versions(self) -> Versions:
        if self.down:
            raise httpx.ConnectError("owner is down")
        return [(k, i, int(s["version"])) for (k, i), s in self.states.items()]


def decision_ref(
    decision_id: int = 3, number: str = "12/QĐ-SXD", effective_on: str = "2026-11-27"
) -> dict[str, Any]:
    return {
        "id": decision_id,
        "number": number,
        "title": "Quyết định công bố thủ tục hành chính lĩnh vực xây dựng",
        "signed_on": "2026-11-20",
        "effective_on": effective_on,
    }


def procedure_state(
    code: str = "MB.XD.001",
    version: int = 1,
    *,
    name: str = "Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II",
    field: str = "Hoạt động xây dựng",
    status: str = "in_force",
    replaced_by: str | None = None,
    actions: list[tuple[str, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A ProcedureRead as the contract shows it; `actions` is the history, oldest first."""
    actions = actions or [("new", decision_ref())] + [
        ("amend", decision_ref(3 + v, f"{20 + v}/QĐ-SXD")) for v in range(2, version + 1)
    ]
    history = [
        {
            "version": v,
            "action": action,
            "status": "in_force" if v < len(actions) else status,
            "effective_at": f"2026-11-{min(26 + v, 30):02d}T17:00:00Z",
            "decision": decision,
        }
        for v, (action, decision) in enumerate(actions, start=1)
    ]
    return {
        "code": code,
        "status": status,
        "version": version,
        "name": name,
        "field": field,
        "level": "Cấp tỉnh",
        "agency": "Sở Xây dựng tỉnh Thái Bình",
        "subjects": ["Tổ chức", "Cá nhân"],
        "steps": [
            "Bước 1: Tổ chức, cá nhân nộp hồ sơ tại Trung tâm Phục vụ hành chính công tỉnh.",
            "Bước 2: Sở Xây dựng thẩm định hồ sơ.",
        ],
        "submission_methods": ["Trực tiếp", "Trực tuyến trên Cổng dịch vụ công"],
        "dossier": {
            "items": [
                {"name": "Đơn đề nghị cấp giấy phép xây dựng", "originals": 1, "copies": 0},
                {"name": "Bản vẽ thiết kế xây dựng", "originals": 0, "copies": 2},
            ],
            "sets": 1,
        },
        "processing_time": {"value": 20, "unit": "working_days"},
        "result": "Giấy phép xây dựng",
        "fees": [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 150000}],
        "forms": ["Mẫu số 01 - Đơn đề nghị cấp giấy phép xây dựng"],
        "requirements": [],
        "legal_basis": ["Luật Xây dựng số 50/2014/QH13"],
        "online_service": "một phần",
        "replaced_by": replaced_by,
        "effective_at": history[-1]["effective_at"],
        "history": history,
    }


def decision_state(
    decision_id: int = 3,
    version: int = 1,
    *,
    number: str = "12/QĐ-SXD",
    status: str = "in_effect",
    effective_on: str = "2026-11-27",
    changes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": decision_id,
        "number": number,
        "title": "Quyết định công bố thủ tục hành chính lĩnh vực xây dựng",
        "issuer": "Chủ tịch UBND tỉnh Thái Bình",
        "signed_on": "2026-11-20",
        "effective_on": effective_on,
        "effective_at": "2026-11-26T17:00:00Z",
        "status": status,
        "version": version,
        "published_at": "2026-11-21T02:00:00Z",
        "applied_at": "2026-11-26T17:00:00Z" if status == "in_effect" else None,
        "changes": changes
        or [
            {
                "action": "new",
                "procedure_code": "MB.XD.001",
                "procedure_name": "Cấp giấy phép",
                "replaced_by": None,
            }
        ],
    }


def envelope(kind: str, subject_id: str, version: int, event_type: str | None = None) -> dict[str, Any]:
    default = {"procedure": "procedure.amended", "decision": "decision.published"}[kind]
    return Envelope(
        type=event_type or default,  # type: ignore[arg-type]
        source="procedures",
        subject={"kind": kind, "id": subject_id},  # type: ignore[arg-type]
        version=version,
    ).to_wire()
