"""The issuer's public documents: its keys and its OpenID discovery document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from console import identity

router = APIRouter(tags=["identity"])


@router.get("/.well-known/jwks.json")
def jwks(request: Request) -> JSONResponse:
    keys: list[identity.SigningKey] = request.app.state.verification_keys
    # Verifiers cache it; a rotation publishes the new key beside the old one first.
    return JSONResponse(identity.jwks(*keys), headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request) -> dict[str, Any]:
    return identity.discovery(request.app.state.console.settings.auth_issuer)
