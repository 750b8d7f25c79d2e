"""The documents desk: directive and legal documents filed with their relations, and
corrected with a history of who changed what (the content service keeps that history)."""

from __future__ import annotations

from fastapi import APIRouter

from console.web import PREFIX

router = APIRouter(prefix=f"{PREFIX}/documents")
