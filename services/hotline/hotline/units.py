"""The Department's units (its divisions): a managed list, not free text.

An admin adds, renames and retires them; an officer assigns a ticket only to a unit in
service; the public statistics count by them. Renaming carries the tickets along (their
`unit` is the unit's name), so the statistics and the reminders follow the new name.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# The divisions of a provincial Department of Construction (the standard organisation;
# an admin edits the list for this Department). Seeded once by the migration.
STANDARD_UNITS = (
    "Văn phòng Sở",
    "Thanh tra Sở",
    "Phòng Quản lý xây dựng",
    "Phòng Kinh tế và Vật liệu xây dựng",
    "Phòng Quy hoạch – Kiến trúc",
    "Phòng Hạ tầng kỹ thuật và Phát triển đô thị",
    "Phòng Quản lý nhà và Thị trường bất động sản",
)


@dataclass
class Unit:
    name: str
    active: bool = True
    id: int | None = None


def clean_name(raw: str) -> str:
    """NFC, single spaces, no ends: the same name typed twice is the same name."""
    return " ".join(unicodedata.normalize("NFC", raw).split())


def same_name(a: str, b: str) -> bool:
    return clean_name(a).casefold() == clean_name(b).casefold()


class UnitRefused(Exception):
    """A change to the list the rules refuse (mapped to 422 on `field`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_new_name(name: str, others: list[Unit]) -> str:
    cleaned = clean_name(name)
    if not cleaned:
        raise UnitRefused("name", "a unit needs a name")
    clash = next((u for u in others if same_name(u.name, cleaned)), None)
    if clash is not None:
        state = "in service" if clash.active else "retired"
        raise UnitRefused("name", f"a unit named {clash.name} already exists ({state})")
    return cleaned


def assignable(name: str, units: list[Unit]) -> Unit:
    """The unit in service a ticket may be assigned to under this name."""
    found = next((u for u in units if same_name(u.name, name)), None)
    if found is None:
        raise UnitRefused("unit", "not one of the Department's units; pick one from the list")
    if not found.active:
        raise UnitRefused("unit", f"{found.name} is retired; pick a unit in service")
    return found
