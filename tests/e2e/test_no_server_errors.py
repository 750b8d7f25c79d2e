"""Bad input gets a 4xx, never a 500: every write of every service, driven from its OpenAPI.

For each operation the services publish, with a token holding every role (so the
request gets past auth to the validation and the domain), the test sends hostile
bodies (wrong types, nulls, empty and huge strings, NUL bytes, deep nesting, broken
JSON) and hostile path values, and asserts the answer is never a 5xx. A 4xx must be
JSON naming what was wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from minhbach_shared.auth import Role
from minhbach_testing.harness import SERVICES, System, running_system

HOSTILE_VALUES: list[Any] = [
    None,
    "",
    " ",
    "x" * 20_000,
    "\u0000",
    "<script>alert(1)</script>",
    -1,
    0,
    10**30,
    1.5e308,
    True,
    [],
    {},
    ["x"],
    {"x": "y"},
    "2026-02-30",
    "9999-12-31T25:61:00",
]
HOSTILE_RAW_BODIES: list[bytes] = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"0",
    b"\xff\xfe\x00",
    b"[" * 100_000 + b"]" * 100_000,  # deeper than any parser's recursion
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
]
HOSTILE_PATH_VALUES = ["0", "-1", "99999999999999999999", "..", "%2e%2e%2fetc", "x" * 500, "Đ%20đ", "1;DROP"]


@pytest.fixture(scope="module")
def own_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The four APIs of a system of its own (no worker needed: every answer is the API's
    own), so whatever hostile write a service accepts stays out of the shared system."""
    with running_system(tmp_path_factory.mktemp("hostile"), SERVICES) as running:
        yield running


def services(system: System) -> dict[str, str]:
    return {
        "procedures": system.procedures_url,
        "content": system.content_url,
        "hotline": system.hotline_url,
        "notifier": system.notifier_url,
    }


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def json_properties(spec: dict[str, Any], operation: dict[str, Any]) -> list[str] | None:
    """The top-level fields of a JSON request body; None when the body is not JSON."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    schema = resolve(spec, content["application/json"].get("schema", {}))
    return sorted(schema.get("properties", {}))


def operations(spec: dict[str, Any], methods: set[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in methods:
                yield method.upper(), path, operation


def query_names(spec: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]


def fill(path: str, value: str) -> str:
    parts = []
    for part in path.split("/"):
        parts.append(value if part.startswith("{") else part)
    return "/".join(parts)


def assert_clear_4xx(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    if response.status_code == 422:
        body = response.json()
        assert body.get("detail") and body.get("errors"), f"{what}: a 422 must say what and where: {body}"
        assert all(e.get("field") for e in body["errors"]), f"{what}: each error names a field: {body}"


@pytest.mark.parametrize("service", ["procedures", "content", "hotline", "notifier"])
def test_hostile_input_to_every_write_is_a_clear_4xx(own_system: System, service: str):
    system = own_system
    base = services(system)[service]
    everyone = system.token(*Role)
    spec = httpx.get(f"{base}/openapi.json", timeout=10).json()
    sent = 0
    with httpx.Client(base_url=base, headers=everyone, timeout=30) as client:
        for method, path, operation in operations(spec, {"post", "patch", "put", "delete"}):
            target = fill(path, "1")
            fields = json_properties(spec, operation)
            for raw in HOSTILE_RAW_BODIES:
                response = client.request(
                    method, target, content=raw, headers={"Content-Type": "application/json"}
                )
                assert_clear_4xx(response, f"{method} {path} with body {raw[:20]!r}")
                sent += 1
            for field in fields or []:
                for value in HOSTILE_VALUES:
                    response = client.request(method, target, content=json.dumps({field: value}))
                    assert_clear_4xx(response, f"{method} {path} with {field}={str(value)[:30]!r}")
                    sent += 1
            if "{" in path:
                for value in HOSTILE_PATH_VALUES:
                    response = client.request(method, fill(path, value), json={})
                    assert_clear_4xx(response, f"{method} {fill(path, value)}")
                    sent += 1
    assert sent > 50, f"only {sent} requests: did the OpenAPI document list the writes?"


@pytest.mark.parametrize("service", ["procedures", "content", "hotline", "notifier"])
def test_hostile_paths_and_queries_to_every_read_are_a_clear_4xx(own_system: System, service: str):
    system = own_system
    base = services(system)[service]
    spec = httpx.get(f"{base}/openapi.json", timeout=10).json()
    sent = 0
    with httpx.Client(base_url=base, headers=system.token(*Role), timeout=30) as client:
        for _, path, operation in operations(spec, {"get"}):
            if path.endswith("/stream"):
                continue  # an endless event stream: tests/e2e/test_center.py reads it
            for value in HOSTILE_PATH_VALUES if "{" in path else ["1"]:
                response = client.get(fill(path, value))
                assert_clear_4xx(response, f"GET {fill(path, value)}")
                sent += 1
                for name in query_names(spec, operation):
                    for hostile in ("", "-1", "99999999999999999999", "x" * 5000, "\u0000", "%", "_"):
                        response = client.get(fill(path, value), params={name: hostile})
                        assert_clear_4xx(response, f"GET {fill(path, value)}?{name}={hostile[:20]!r}")
                        sent += 1
    assert sent > 20, f"only {sent} requests: did the OpenAPI document list the reads?"
