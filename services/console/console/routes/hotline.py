"""The hotline desk: the queue, the intake of a phone call, a ticket's page and its actions,
the answer composer with the public preview."""

from __future__ import annotations

from fastapi import APIRouter

from console.web import PREFIX

router = APIRouter(prefix=f"{PREFIX}/hotline")
