"""The console as the one token issuer: its Ed25519 key, the tokens it signs, the
public keys it publishes (JWKS) and its OpenID discovery document.

The private key never leaves this service (a 0600 file in the console's volume,
made on first start); the APIs only ever see the public half, so none of them can
mint a token. Rotating: docs/operations.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from minhbach_shared.auth import API_SERVICES, Role, audience

ALGORITHM = "EdDSA"
# The longest a token may live: the issue's bar, and what a stolen one is worth.
MAX_TOKEN_TTL = timedelta(minutes=15)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def _thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: the key id is the hash of the key itself, so it names exactly one key."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    key_id: str

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError("the console's signing key must be an Ed25519 private key")
        return cls(private, _thumbprint(_public_jwk(private.public_key())))

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """The key in `path`, made (readable by this user only) when there is none yet."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(pem)
        return cls.from_pem(path.read_bytes())

    def public_jwk(self) -> dict[str, str]:
        return {**_public_jwk(self.private.public_key()), "kid": self.key_id, "alg": ALGORITHM, "use": "sig"}


def jwks(*keys: SigningKey) -> dict[str, Any]:
    """The JWKS document: every key a token may still be signed with (during a rotation,
    the old key too)."""
    return {"keys": [k.public_jwk() for k in keys]}


def discovery(issuer: str) -> dict[str, Any]:
    """The OpenID discovery document: enough for a verifier to find the keys."""
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "claims_supported": ["sub", "roles", "iss", "aud", "exp", "iat", "name"],
    }


def issue_token(
    key: SigningKey,
    *,
    issuer: str,
    subject: str,
    roles: list[Role] | frozenset[Role],
    audiences: list[str],
    ttl: timedelta = MAX_TOKEN_TTL,
    now: datetime | None = None,
) -> str:
    """A signed access token for `audiences` (each an API's `minhbach_shared.auth.audience`)."""
    if ttl > MAX_TOKEN_TTL:
        raise ValueError(f"tokens live {MAX_TOKEN_TTL} at most")
    now = now or datetime.now(UTC)
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audiences[0] if len(audiences) == 1 else audiences,
        "roles": sorted(r.value for r in roles),
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.key_id})


def all_api_audiences() -> list[str]:
    return [audience(s) for s in API_SERVICES]
