"""Bearer-JWT auth with roles: the APIs verify tokens, they never mint them.

Writes need a token; public reads need none. Tokens come from one issuer, the console
(services/console: short-lived, signed with its own Ed25519 key, one audience per
service), or from whatever OpenID issuer a deployment names instead (a province's
Keycloak). An API checks the signature against the issuer's published keys (its JWKS,
fetched and cached, or read from a file), the issuer, its own audience and the expiry.
There is no shared secret: nothing here can produce a token an API would accept.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Protocol

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

# Asymmetric algorithms only: a symmetric one (HS256) would let whoever verifies also
# mint, and a JWKS public key would then double as the "secret".
ALGORITHMS = ["EdDSA", "RS256", "ES256", "PS256"]
# How long fetched keys are trusted before they are fetched again (an unknown key id
# refetches at once, so a rotated key is picked up without waiting).
JWKS_CACHE_S = 300


class Role(StrEnum):
    EDITOR = "editor"
    APPROVER = "approver"
    HOTLINE = "hotline"
    OPERATOR = "operator"
    ADMIN = "admin"
    SERVICE = "service"


class Principal(BaseModel):
    subject: str
    roles: frozenset[Role]


def audience(service: str) -> str:
    """The audience a token for `service` carries: "minhbach-procedures"."""
    return f"minhbach-{service}"


API_SERVICES = ("procedures", "content", "hotline", "notifier")


class IssuerUnavailable(Exception):
    """The issuer's keys could not be fetched: no token can be checked for now."""


class KeySource(Protocol):
    def key_for(self, token: str) -> Any: ...


class JwksFile:
    """Public keys from a JWKS file, re-read when the file changes (key rotation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: tuple[float, jwt.PyJWKSet] | None = None
        self._lock = threading.Lock()

    def key_for(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        try:
            mtime = self.path.stat().st_mtime
        except OSError as exc:
            raise IssuerUnavailable(f"JWKS file {self.path} unreadable: {exc}") from None
        with self._lock:
            if self._loaded is None or self._loaded[0] != mtime:
                self._loaded = (mtime, jwt.PyJWKSet.from_json(self.path.read_text(encoding="utf-8")))
            keys = self._loaded[1]
        for key in keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise jwt.InvalidTokenError("token signed with an unknown key")


class JwksUrl:
    """Public keys fetched from the issuer (its JWKS URL, or the one its OpenID discovery
    document names), cached; an unknown key id fetches again."""

    def __init__(self, *, issuer: str, jwks_url: str | None, timeout_s: float = 5.0) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.timeout_s = timeout_s
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def _discover(self) -> str:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as answer:  # noqa: S310 (configured URL)
                document = json.load(answer)
        except (OSError, ValueError) as exc:
            raise IssuerUnavailable(f"OpenID discovery at {url} failed: {exc}") from None
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise IssuerUnavailable(f"OpenID discovery at {url} names no jwks_uri")
        return jwks_uri

    def key_for(self, token: str) -> Any:
        with self._lock:
            if self._client is None:
                url = self.jwks_url or self._discover()
                self._client = jwt.PyJWKClient(
                    url, cache_keys=True, lifespan=JWKS_CACHE_S, timeout=self.timeout_s
                )
            client = self._client
        try:
            return client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise IssuerUnavailable(str(exc)) from None
        except jwt.PyJWKClientError as exc:
            raise jwt.InvalidTokenError(str(exc)) from None


class TokenVerifier:
    """Checks a bearer token: signature by the issuer's key, issuer, audience, expiry."""

    def __init__(self, keys: KeySource, *, issuer: str, audience: str, roles_claim: str = "roles") -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        # A dotted path into the claims: "roles" (the console), "realm_access.roles" (Keycloak).
        self.roles_claim = roles_claim

    @classmethod
    def from_settings(cls, settings: Any, *, service: str) -> TokenVerifier:
        keys: KeySource
        if settings.auth_jwks_file is not None:
            keys = JwksFile(settings.auth_jwks_file)
        else:
            keys = JwksUrl(issuer=settings.auth_issuer, jwks_url=settings.auth_jwks_url)
        return cls(
            keys,
            issuer=settings.auth_issuer,
            audience=audience(service),
            roles_claim=settings.auth_roles_claim,
        )

    def verify(self, token: str) -> Principal:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ALGORITHMS:
            raise jwt.InvalidAlgorithmError("token not signed with an asymmetric key")
        claims = jwt.decode(
            token,
            self.keys.key_for(token),
            algorithms=ALGORITHMS,
            issuer=self.issuer,
            audience=self.audience,
            leeway=10,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
        roles: Any = claims
        for part in self.roles_claim.split("."):
            roles = roles.get(part) if isinstance(roles, dict) else None
        if not isinstance(roles, list):
            raise jwt.InvalidTokenError(f"{self.roles_claim} claim must be a list")
        known = {r.value for r in Role}
        return Principal(subject=str(claims["sub"]), roles=frozenset(Role(r) for r in roles if r in known))


_bearer = HTTPBearer(auto_error=False)


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=reason,
        headers={"WWW-Authenticate": "Bearer"},
    )


def token_verifier(request: Request) -> TokenVerifier:
    """The app's verifier, made on first use from its settings and service name."""
    state = request.app.state
    verifier: TokenVerifier | None = getattr(state, "token_verifier", None)
    if verifier is None:
        verifier = TokenVerifier.from_settings(state.settings, service=state.service)
        state.token_verifier = verifier
    return verifier


def principal_of(request: Request, token: str) -> Principal:
    """The token's holder, or 401 (bad, expired, wrong issuer or audience) / 503 (keys
    unreachable: the request may be fine, the check cannot be made). Verified once per
    request: the write guard checks before the body is read, the route's dependency after."""
    cached = request.scope.get("mb.principal")
    if cached is not None and cached[0] == token:
        return cached[1]  # type: ignore[no-any-return]
    try:
        principal = token_verifier(request).verify(token)
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired") from None
    except jwt.InvalidAudienceError:
        raise _unauthorized("token not meant for this service (audience)") from None
    except jwt.InvalidIssuerError:
        raise _unauthorized("token from an unknown issuer") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("invalid token") from None
    except IssuerUnavailable:
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="cannot check the token now: the token issuer's keys are unreachable",
            headers={"Retry-After": "5"},
        ) from None
    request.scope["mb.principal"] = (token, principal)
    return principal


def optional_principal(request: Request) -> Principal | None:
    """For reads that show more to staff: no token or a bad one is just the public."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return principal_of(request, token)
    except HTTPException:
        return None


def authorize(request: Request, roles: Iterable[Role]) -> Principal:
    """The bearer token's holder if it holds any of `roles`; else 401 (none, or not valid)
    or 403 (valid, without the role)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("missing bearer token")
    principal = principal_of(request, token.strip())
    wanted = list(roles)
    if not principal.roles & set(wanted):
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"requires role: {' or '.join(r.value for r in wanted)}",
        )
    return principal


def require_roles(*roles: Role) -> Any:
    """A dependency that admits a valid token holding any of `roles`. Its roles are also
    checked before the body is read (minhbach_shared.guard.GuardedRoute)."""

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise _unauthorized("missing bearer token")
        return authorize(request, roles)

    dependency.required_roles = frozenset(roles)  # type: ignore[attr-defined]
    return Depends(dependency)
