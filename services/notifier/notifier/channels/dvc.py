"""The dvc channel: the online public service portal (Cổng dịch vụ công), an external system.

Each delivery is one signed webhook (Standard Webhooks: `webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`) POSTed to
NOTIFIER_DVC_URL with the subject's public state at the read model's version.

Exactly once, in effect: `webhook-id` is derived from (kind, id, version) only, so
a redelivery of the same version (a worker killed after the POST, a resync) carries
the same id and the receiver drops it as a duplicate. Per subject only the newest
pending version is sent (disclosure.domain.split_batch), so a receiver never sees an older
version after a newer one.

It discloses procedures and decisions only: tickets (even redacted) never go to an
external system, and a delivery of another kind fails here rather than leave.

The receiver cannot be read back, so `shown_versions` reports nothing: the ledger
(what the receiver acknowledged with a 2xx) is the record, and reconcile does not
repair this channel; `POST /v1/channels/dvc/resync` re-sends everything (the
receiver drops what it already holds by webhook-id).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from standardwebhooks import Webhook

from minhbach_shared.components import PROCEDURE_COMPONENTS
from minhbach_shared.text import nfc
from notifier.channels.base import Outcome, ReadModel
from notifier.channels.pages import page_url
from notifier.channels.views.procedures import change_lines
from notifier.disclosure.domain import Delivery, SubjectKey, SubjectState

log = logging.getLogger(__name__)

DVC = "dvc"
USER_AGENT = "minhbach-notifier (dvc channel)"
# The last history entry's action -> the event type sent (the envelope's own names).
PROCEDURE_EVENTS = {
    "new": "procedure.published",
    "amend": "procedure.amended",
    "replace": "procedure.replaced",
    "abolish": "procedure.abolished",
}
STATUS_EVENTS = {"replaced": "procedure.replaced", "abolished": "procedure.abolished"}
# Everything the portal shows of a procedure (ProcedureRead, docs/contract.md).
PROCEDURE_FIELDS = ("code", "status", *PROCEDURE_COMPONENTS, "replaced_by", "effective_at", "history")
DECISION_FIELDS = (
    "id",
    "number",
    "title",
    "issuer",
    "signed_on",
    "effective_on",
    "status",
    "published_at",
    "applied_at",
    "changes",
)
# The receiver says it cannot take anything now: the rest of the batch waits too.
UNAVAILABLE = frozenset({429, 502, 503, 504})
# A receiver's Retry-After is honoured up to this; a longer ask is taken as a day.
MAX_RETRY_AFTER_S = 24 * 3600.0


def retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), at most a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None  # unreadable: our own backoff applies
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def webhook_id(key: SubjectKey, version: int) -> str:
    """Stable per (subject, version): the receiver deduplicates a redelivery by it."""
    return f"mb_{key[0]}_{quote(key[1], safe='')}_v{version}"


def _normalised(value: Any) -> Any:
    """Every string NFC (diacritics kept, one encoding of each letter)."""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, dict):
        return {nfc(str(k)): _normalised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalised(v) for v in value]
    return value


def event_type(subject: SubjectState) -> str:
    s = subject.state
    if subject.kind == "decision":
        # Version 1: published (scheduled or in effect); a later version: it took effect.
        return "decision.published" if subject.version <= 1 else "decision.applied"
    history = s.get("history") or []
    last = history[-1].get("action") if history and isinstance(history[-1], dict) else None
    if last in PROCEDURE_EVENTS:
        return PROCEDURE_EVENTS[str(last)]
    return STATUS_EVENTS.get(str(s.get("status")), "procedure.amended")


def payload(subject: SubjectState, *, portal_url: str) -> dict[str, Any]:
    """The webhook body: {type, timestamp, data} as Standard Webhooks recommends."""
    s = subject.state
    occurred = subject.occurred_at or subject.updated_at
    data: dict[str, Any] = {
        "subject": {"kind": subject.kind, "id": subject.id},
        "version": subject.version,
        "url": page_url(portal_url, subject.kind, subject.id),
    }
    if subject.kind == "procedure":
        procedure = {f: s.get(f) for f in PROCEDURE_FIELDS}
        procedure["code"] = procedure["code"] or subject.id
        history = [h for h in s.get("history") or [] if isinstance(h, dict)]
        # The decision that made this version (for a replaced or abolished one: the one that ended it).
        procedure["decision"] = history[-1].get("decision") if history else None
        # What this version changed, in the plain Vietnamese lines the portal's page shows
        # (against the version before, or the procedure it replaces: `history[-1].replaces`);
        # the same changes, structured, are `history[-1].changes`. None: the owner gave none.
        procedure["what_changed"] = change_lines(history[-1].get("changes")) if history else None
        if s.get("replaced_by"):
            procedure["replaced_by_url"] = page_url(portal_url, "procedure", str(s["replaced_by"]))
        data["procedure"] = procedure
    elif subject.kind == "decision":
        decision = {f: s.get(f) for f in DECISION_FIELDS}
        decision["id"] = decision["id"] if decision["id"] is not None else subject.id
        decision["changes"] = [
            {**c, "url": page_url(portal_url, "procedure", str(c.get("procedure_code", "")))}
            for c in s.get("changes") or []
            if isinstance(c, dict)
        ]
        data["decision"] = decision
    else:
        raise ValueError(f"the dvc channel never discloses {subject.kind}")
    return {
        "type": event_type(subject),
        "timestamp": occurred.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": _normalised(data),
    }


def body(document: dict[str, Any]) -> bytes:
    """UTF-8 JSON, letters as they are (no \\u escapes), keys sorted: the same bytes each time."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


class DvcChannel:
    name = DVC
    kinds = frozenset({"procedure", "decision"})
    # The receiver cannot be read back: reconcile leaves this channel alone (and never
    # waits for its lock while a slow portal keeps a run long).
    audited = False
    # A webhook carries its subject's own state: a run reads its batch's rows, not the
    # read model (keeping that current was a fifth of this worker's CPU under load).
    reads_catalogue = False

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        portal_url: str,
        timeout_s: float = 10.0,
        in_flight: int = 4,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.url = url
        # Webhooks sent at once (each subject's newest version once per batch, so their
        # order does not matter): a run waits for the receiver ~1/in_flight as long.
        self.in_flight = max(1, in_flight)
        self.webhook = Webhook(secret)
        self.portal_url = portal_url
        # Connecting gets a short budget of its own: a receiver that is not there says so fast.
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        self.transport = transport
        self.clock = clock or (lambda: datetime.now(UTC))
        # One client for the process's runs (its connections kept alive between them),
        # made on first use: after the worker's fork, never before.
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    def client(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self.timeout,
                    transport=self.transport,
                    follow_redirects=False,
                    limits=httpx.Limits(max_connections=self.in_flight),
                )
            return self._client

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def request(self, subject: SubjectState) -> tuple[bytes, dict[str, str]]:
        """The signed request for one subject at its read-model version: (body, headers)."""
        content = body(payload(subject, portal_url=self.portal_url))
        msg_id = webhook_id(subject.key, subject.version)
        now = self.clock()
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.webhook.sign(msg_id, now, content.decode("utf-8")),
            "content-type": "application/json; charset=utf-8",
            "user-agent": USER_AGENT,
        }
        return content, headers

    def deliver(self, batch: Sequence[Delivery], model: ReadModel) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        sendable: list[tuple[Delivery, SubjectState]] = []
        for delivery in batch:
            subject = model.get(delivery.key)
            if subject is None:
                outcomes[delivery.id] = Outcome.failed("subject is not in the read model")
            elif subject.kind not in self.kinds:
                outcomes[delivery.id] = Outcome.failed(f"the dvc channel never discloses {subject.kind}")
            else:
                sendable.append((delivery, subject))
        # Sent `in_flight` at a time. Set when the receiver is unreachable or says it is
        # unavailable: the rest of the batch is not tried (each would wait for its own
        # timeout) and backs off with it.
        down: Outcome | None = None
        client = self.client()
        with ThreadPoolExecutor(max_workers=self.in_flight, thread_name_prefix="dvc") as pool:
            for start in range(0, len(sendable), self.in_flight):
                wave = sendable[start : start + self.in_flight]
                if down is not None:
                    outcomes.update({d.id: down for d, _ in wave})
                    continue
                for (delivery, _), (outcome, failed) in zip(
                    wave, pool.map(lambda item: self._send(client, item[1]), wave), strict=True
                ):
                    outcomes[delivery.id] = outcome
                    down = down or failed
        return outcomes

    def _send(self, client: httpx.Client, subject: SubjectState) -> tuple[Outcome, Outcome | None]:
        """Outcome of one POST, and the failure of the rest of the batch when the receiver is down."""
        try:
            content, headers = self.request(subject)
        except Exception as exc:
            log.exception("dvc payload failed", extra={"subject": subject.key})
            return Outcome.failed(f"payload: {type(exc).__name__}: {exc}"), None
        try:
            response = client.post(self.url, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            timed_out = Outcome.failed(f"receiver timed out: {type(exc).__name__}")
            return timed_out, timed_out
        except httpx.TransportError as exc:
            unreachable = Outcome.failed(f"receiver unreachable: {type(exc).__name__}: {exc}")
            return unreachable, unreachable
        if response.is_success:
            return Outcome.shown(subject.version), None
        log.warning("dvc webhook refused", extra={"subject": subject.key, "status": response.status_code})
        error = f"receiver answered HTTP {response.status_code}: {response.text[:200]}"
        if response.status_code not in UNAVAILABLE:
            return Outcome.failed(error), None
        wait = retry_after(response.headers.get("retry-after"), now=self.clock())
        unavailable = Outcome.failed(error, retry_after_s=wait)
        return unavailable, unavailable

    def shown_versions(self, model: ReadModel) -> dict[SubjectKey, int | None]:
        """Nothing: an external portal cannot be read back; the ledger is the record."""
        return {}
