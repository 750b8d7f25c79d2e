"""Bearer-JWT auth with roles. Writes need a token; public reads need none."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

ALGORITHM = "HS256"
ISSUER = "minhbach"


class Role(StrEnum):
    EDITOR = "editor"
    APPROVER = "approver"
    HOTLINE = "hotline"
    OPERATOR = "operator"
    SERVICE = "service"


class Principal(BaseModel):
    subject: str
    roles: frozenset[Role]


def issue_token(secret: str, *, subject: str, roles: list[Role], ttl: timedelta = timedelta(days=30)) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "roles": [r.value for r in roles],
        "iss": ISSUER,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> Principal:
    claims = jwt.decode(
        token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub"]}
    )
    roles = claims.get("roles")
    if not isinstance(roles, list):
        raise jwt.InvalidTokenError("roles claim must be a list")
    known = {r.value for r in Role}
    return Principal(subject=str(claims["sub"]), roles=frozenset(Role(r) for r in roles if r in known))


_bearer = HTTPBearer(auto_error=False)


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=reason,
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_roles(*roles: Role) -> Any:
    """A dependency that admits a valid token holding any of `roles`."""

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise _unauthorized("missing bearer token")
        try:
            principal = decode_token(request.app.state.settings.jwt_secret, credentials.credentials)
        except jwt.ExpiredSignatureError:
            raise _unauthorized("token expired") from None
        except jwt.InvalidTokenError:
            raise _unauthorized("invalid token") from None
        if not principal.roles & set(roles):
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail=f"requires role: {' or '.join(r.value for r in roles)}",
            )
        return principal

    return Depends(dependency)


def main() -> None:
    """`python -m minhbach_shared.auth --role editor` prints a token for the local setup."""
    from minhbach_shared.settings import BaseServiceSettings

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--role", action="append", choices=[r.value for r in Role], required=True)
    parser.add_argument("--subject", default=None)
    args = parser.parse_args()
    roles = [Role(r) for r in args.role]
    settings = BaseServiceSettings()
    print(issue_token(settings.jwt_secret, subject=args.subject or f"demo-{roles[0].value}", roles=roles))


if __name__ == "__main__":
    main()
