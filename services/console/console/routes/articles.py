"""The content desk: articles by state and category, the editor with its preview, the
approver's review (difference, publish or schedule, send back, unpublish, revisions)."""

from __future__ import annotations

from fastapi import APIRouter

from console.web import PREFIX

router = APIRouter(prefix=f"{PREFIX}/articles")
