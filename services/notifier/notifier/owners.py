"""Clients of the owning services' APIs: the notifier fetches current state, never trusts `data`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from minhbach_shared.events import Subject, SyncVersions
from minhbach_shared.observability import http_client

log = logging.getLogger(__name__)

Versions = list[tuple[str, str, int]]
# Subjects per batch request (the owners' own limit on POST /v1/sync/states).
BATCH_SIZE = 200


class OwnerClient(Protocol):
    """An owner of some subject kinds."""

    def fetch(self, subject: Subject) -> dict[str, Any] | None:
        """The subject's current state; None when the owner says 404."""
        ...

    def versions(self) -> Versions:
        """(kind, id, version) of every published subject it owns."""
        ...


class DocumentSource(Protocol):
    """An owner that also serves whole documents that are not subjects (the hotline's statistics)."""

    def document(self, name: str) -> dict[str, Any] | None:
        """The document's current body; None when the owner does not serve it (404)."""
        ...


class HttpOwner:
    """An owner reached over HTTP; `paths` maps a kind to its URL template."""

    def __init__(
        self, client: httpx.Client, paths: Mapping[str, str], documents: Mapping[str, str] | None = None
    ) -> None:
        self.client = client
        self.paths = dict(paths)
        self.documents = dict(documents or {})

    def fetch(self, subject: Subject) -> dict[str, Any] | None:
        path = self.paths[subject.kind.value].format(id=quote(subject.id, safe=""))
        response = self.client.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def document(self, name: str) -> dict[str, Any] | None:
        path = self.documents.get(name)
        if path is None:
            return None
        response = self.client.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def versions(self) -> Versions:
        response = self.client.get("/v1/sync/versions")
        response.raise_for_status()
        # The contract's shape (minhbach_shared.events.SyncVersions), checked as it is read.
        synced = SyncVersions.model_validate(response.json())
        return [(s.kind, s.id, s.version) for s in synced.subjects]

    def close(self) -> None:
        self.client.close()


class BatchHttpOwner(HttpOwner):
    """An owner that also serves many states in one request (POST /v1/sync/states)."""

    def fetch_many(self, subjects: list[Subject]) -> list[dict[str, Any] | None]:
        """Each subject's current state, in order; None where its own GET would be a 404."""
        response = self.client.post(
            "/v1/sync/states", json={"subjects": [{"kind": s.kind.value, "id": s.id} for s in subjects]}
        )
        response.raise_for_status()
        by_key = {(s["kind"], str(s["id"])): s["state"] for s in response.json()["states"]}
        return [by_key.get((s.kind.value, s.id)) for s in subjects]


# Which owner serves which kinds, and where.
OWNER_PATHS: dict[str, dict[str, str]] = {
    "procedures": {"procedure": "/v1/procedures/{id}", "decision": "/v1/decisions/{id}"},
    "content": {"article": "/v1/articles/{id}", "document": "/v1/documents/{id}"},
    # 404 means "not public" (never published, or withdrawn): the portal removes its Q&A.
    "hotline": {"ticket": "/v1/public/answers/{id}"},
}
# Owners that serve POST /v1/sync/states (many states in one request).
BATCH_OWNERS = frozenset({"procedures"})
# Documents an owner serves besides its subjects (DocumentSource.document).
OWNER_DOCUMENTS: dict[str, dict[str, str]] = {
    "hotline": {"statistics": "/v1/public/statistics"},
}


class OwnerRegistry:
    """Kind -> the owner that serves it."""

    def __init__(self, owners: Mapping[str, OwnerClient], kinds: Mapping[str, str]) -> None:
        self.owners = dict(owners)
        self.kinds = dict(kinds)

    @classmethod
    def single(cls, owner: OwnerClient, kinds: Iterable[str] = ("procedure", "decision")) -> OwnerRegistry:
        return cls({"procedures": owner}, {k: "procedures" for k in kinds})

    @classmethod
    def of(cls, owners: Mapping[str, OwnerClient]) -> OwnerRegistry:
        """Owners by name (see OWNER_PATHS), each serving the kinds OWNER_PATHS gives it."""
        kinds = {kind: name for name in owners for kind in OWNER_PATHS[name]}
        return cls(owners, kinds)

    def for_kind(self, kind: str) -> OwnerClient | None:
        name = self.kinds.get(kind)
        return self.owners.get(name) if name else None

    def close(self) -> None:
        for owner in self.owners.values():
            if (close := getattr(owner, "close", None)) is not None:
                close()


def http_registry(base_urls: Mapping[str, str], *, timeout_s: float = 5.0) -> OwnerRegistry:
    """Owners over HTTP; `base_urls` maps an owner name (see OWNER_PATHS) to its base URL."""
    owners: dict[str, OwnerClient] = {}
    kinds: dict[str, str] = {}
    for name, base_url in base_urls.items():
        paths = OWNER_PATHS[name]
        kind = BatchHttpOwner if name in BATCH_OWNERS else HttpOwner
        owners[name] = kind(http_client(base_url, timeout_s=timeout_s), paths, OWNER_DOCUMENTS.get(name))
        kinds.update({kind: name for kind in paths})
    return OwnerRegistry(owners, kinds)
