"""The Department's units (its divisions), a list an admin keeps: added, renamed, retired.
The hotline service owns the list; assignment and the public statistics use it."""

from __future__ import annotations

from fastapi import APIRouter

from console.web import PREFIX

router = APIRouter(prefix=f"{PREFIX}/units")
