"""The console's signing key and what it publishes: only the public half leaves it."""

from __future__ import annotations

import json
import stat
from datetime import timedelta

import jwt
import pytest

from console.identity import MAX_TOKEN_TTL, SigningKey, discovery, issue_token, jwks
from minhbach_shared.auth import Role


def test_the_key_is_made_once_readable_by_its_owner_only_and_kept(tmp_path):
    path = tmp_path / "keys" / "signing-key.pem"
    first = SigningKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SigningKey.load_or_create(path).key_id == first.key_id


def test_the_jwks_publishes_the_public_key_and_nothing_private(tmp_path):
    key = SigningKey.load_or_create(tmp_path / "k.pem")
    [published] = jwks(key)["keys"]
    assert published == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": published["x"],
        "kid": key.key_id,
        "alg": "EdDSA",
        "use": "sig",
    }
    assert '"d":' not in json.dumps(jwks(key))  # the private part of an OKP JWK


def test_discovery_names_the_issuer_and_where_its_keys_are():
    document = discovery("http://console:8005")
    assert document["issuer"] == "http://console:8005"
    assert document["jwks_uri"] == "http://console:8005/.well-known/jwks.json"


def test_tokens_live_fifteen_minutes_at_most_and_carry_the_key_id(tmp_path):
    key = SigningKey.load_or_create(tmp_path / "k.pem")
    token = issue_token(key, issuer="i", subject="s", roles=[Role.EDITOR], audiences=["minhbach-content"])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == MAX_TOKEN_TTL.total_seconds()
    assert claims["aud"] == "minhbach-content" and claims["roles"] == ["editor"]
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": key.key_id, "typ": "JWT"}
    with pytest.raises(ValueError):
        issue_token(key, issuer="i", subject="s", roles=[], audiences=["a"], ttl=timedelta(hours=1))
