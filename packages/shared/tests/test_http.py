"""The platform every API shares: errors are JSON 4xx naming the field, never a 500."""

from typing import Annotated

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from minhbach_shared.auth import Role, require_roles
from minhbach_shared.http import install_platform
from minhbach_shared.settings import BaseServiceSettings
from minhbach_testing.tokens import token as make_token


class Body(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=5)]


def make_client() -> TestClient:
    app = FastAPI()
    app.state.settings = BaseServiceSettings()
    install_platform(app, service="test", readiness=lambda: {"database": "ok"})

    @app.post("/things", dependencies=[require_roles(Role.EDITOR)])
    def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.post("/race")
    def race() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key value violates unique constraint"))

    return TestClient(app, raise_server_exceptions=False)


def test_validation_error_names_the_field():
    token = make_token(Role.EDITOR, service="test")
    response = make_client().post(
        "/things", json={"name": "too long"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


def test_missing_token_is_401_with_a_challenge():
    response = make_client().post("/things", json={"name": "a"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_lost_race_for_a_key_is_a_409_not_a_500():
    response = make_client().post("/race")
    assert response.status_code == 409
    assert "concurrent change" in response.json()["detail"]


def test_malformed_json_names_the_body_and_says_where_and_why():
    token = make_token(Role.EDITOR, service="test")
    response = make_client().post(
        "/things",
        content=b'{"name": "a",\n "x": }',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "body"
    assert error["message"] == "JSON decode error at line 2, column 7 (position 20): Expecting value"
    assert "body: JSON decode error at line 2, column 7" in response.json()["detail"]
