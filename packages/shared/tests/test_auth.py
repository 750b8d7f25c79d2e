"""The APIs accept only tokens the issuer signed, for them, still valid; none can mint one."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from console.identity import SigningKey, issue_token, jwks
from minhbach_shared.auth import JwksFile, JwksUrl, Principal, Role, TokenVerifier, require_roles
from minhbach_shared.http import install_platform
from minhbach_shared.settings import BaseServiceSettings
from minhbach_testing.plugin import serving
from minhbach_testing.tokens import TEST_ISSUER, signing_key, token

ISSUER = TEST_ISSUER


def verifier(
    jwks_file: Path | None = None, *, service: str = "procedures", roles_claim: str = "roles"
) -> TokenVerifier:
    return TokenVerifier(
        JwksFile(jwks_file or signing_key().jwks_file),
        issuer=ISSUER,
        audience=f"minhbach-{service}",
        roles_claim=roles_claim,
    )


def test_a_token_the_console_signed_for_this_service_names_its_holder_and_roles():
    principal = verifier().verify(
        token(Role.EDITOR, Role.APPROVER, subject="an.nguyen", service="procedures")
    )
    assert principal == Principal(subject="an.nguyen", roles=frozenset({Role.EDITOR, Role.APPROVER}))


def test_a_token_for_all_four_apis_is_accepted_by_each():
    shared = token(Role.OPERATOR)
    for service in ("procedures", "content", "hotline", "notifier"):
        assert verifier(service=service).verify(shared).roles == {Role.OPERATOR}


def test_a_token_for_another_service_is_refused():
    with pytest.raises(jwt.InvalidAudienceError):
        verifier(service="hotline").verify(token(Role.HOTLINE, service="content"))


def test_an_expired_token_is_refused():
    old = issue_token(
        signing_key().key,
        issuer=ISSUER,
        subject="x",
        roles=[Role.EDITOR],
        audiences=["minhbach-procedures"],
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier().verify(old)


def test_a_token_from_another_issuer_is_refused():
    with pytest.raises(jwt.InvalidIssuerError):
        verifier().verify(token(Role.EDITOR, issuer="https://somewhere.else"))


def test_a_token_signed_by_another_key_is_refused(tmp_path):
    stranger = SigningKey.load_or_create(tmp_path / "other.pem")
    with pytest.raises(jwt.InvalidTokenError):
        verifier().verify(token(Role.EDITOR, key=stranger))


def test_the_old_shared_secret_scheme_and_algorithm_confusion_are_refused():
    """HS256 with any secret, HS256 keyed with the published public key, and alg none."""
    public_pem = (
        signing_key()
        .key.private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = {
        "iss": ISSUER,
        "sub": "forger",
        "aud": "minhbach-procedures",
        "roles": ["approver"],
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    forged = [
        jwt.encode(claims, "minhbach-local-development-secret-do-not-deploy", algorithm="HS256"),
        _hs256_with(public_pem, claims),
        jwt.encode(claims, None, algorithm="none"),
    ]
    for bad in forged:
        with pytest.raises(jwt.InvalidTokenError):
            verifier().verify(bad)


def _hs256_with(key: bytes, claims: dict) -> str:
    # PyJWT refuses to HMAC with a PEM key; build the token by hand, as an attacker would.
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": signing_key().key.key_id}).encode())
    body = b64(json.dumps({**claims, "exp": int(claims["exp"].timestamp())}).encode())
    signature = b64(hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest())
    return f"{header}.{body}.{signature}"


def test_a_rotated_key_is_picked_up_from_the_file_without_a_restart(tmp_path):
    old = SigningKey.load_or_create(tmp_path / "old.pem")
    new = SigningKey.load_or_create(tmp_path / "new.pem")
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks(old)))
    check = verifier(keys)
    assert check.verify(token(Role.EDITOR, key=old)).subject == "test-editor"
    keys.write_text(json.dumps(jwks(new, old)))  # rotation: the new key published beside the old
    assert check.verify(token(Role.EDITOR, key=new)).roles == {Role.EDITOR}
    assert check.verify(token(Role.EDITOR, key=old)).roles == {Role.EDITOR}


def test_another_openid_issuer_with_rs256_and_nested_roles_needs_settings_only(tmp_path):
    """A province's Keycloak: RS256, roles under realm_access, found by OpenID discovery."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    app = FastAPI()
    issuer_box: dict[str, str] = {}

    @app.get("/realms/so-xay-dung/.well-known/openid-configuration")
    def discovery() -> dict[str, str]:
        return {"issuer": issuer_box["iss"], "jwks_uri": issuer_box["iss"] + "/protocol/openid-connect/certs"}

    @app.get("/realms/so-xay-dung/protocol/openid-connect/certs")
    def certs() -> dict[str, Any]:
        return {"keys": [{**jwk, "kid": "kc-1", "alg": "RS256", "use": "sig"}]}

    with serving(app) as base:
        issuer_box["iss"] = f"{base}/realms/so-xay-dung"
        settings = BaseServiceSettings(
            auth_issuer=issuer_box["iss"], auth_jwks_file=None, auth_roles_claim="realm_access.roles"
        )
        check = TokenVerifier.from_settings(settings, service="hotline")
        assert isinstance(check.keys, JwksUrl)
        keycloak_token = jwt.encode(
            {
                "iss": issuer_box["iss"],
                "sub": "f1c2-uuid",
                "aud": ["minhbach-hotline", "account"],
                "realm_access": {"roles": ["hotline", "offline_access"]},
                "exp": datetime.now(UTC) + timedelta(minutes=5),
            },
            private,
            algorithm="RS256",
            headers={"kid": "kc-1"},
        )
        assert check.verify(keycloak_token) == Principal(subject="f1c2-uuid", roles=frozenset({Role.HOTLINE}))


def test_an_api_answers_401_for_a_bad_token_and_503_when_the_issuer_is_unreachable(tmp_path):
    def app_with(settings: BaseServiceSettings) -> TestClient:
        app = FastAPI()
        app.state.settings = settings
        install_platform(app, service="procedures", readiness=lambda: {})

        @app.post("/write", dependencies=[require_roles(Role.EDITOR)])
        def write() -> dict[str, str]:
            return {"ok": "yes"}

        return TestClient(app, raise_server_exceptions=False)

    client = app_with(BaseServiceSettings())
    good = token(Role.EDITOR, service="procedures")
    assert client.post("/write", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    wrong_audience = token(Role.EDITOR, service="content")
    refused = client.post("/write", headers={"Authorization": f"Bearer {wrong_audience}"})
    assert (refused.status_code, refused.json()["detail"]) == (
        401,
        "token not meant for this service (audience)",
    )
    as_hotline = client.post("/write", headers={"Authorization": f"Bearer {token(Role.HOTLINE)}"})
    assert as_hotline.status_code == 403

    nobody_home = app_with(BaseServiceSettings(auth_issuer="http://127.0.0.1:9", auth_jwks_file=None))
    unchecked = nobody_home.post("/write", headers={"Authorization": f"Bearer {good}"})
    assert unchecked.status_code == 503
    assert unchecked.headers["Retry-After"]
