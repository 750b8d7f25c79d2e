"""A stand-in for the online public service portal's webhook receiver: dev and test tooling.

Not part of the system: `make up` runs it so the dvc channel has somewhere to send,
and the tests use it as the external portal. Docker compose does not run it (a real
endpoint is configured there). It does what a careful receiver does:

- verifies each request with standardwebhooks' `Webhook.verify` (401 on a bad or
  missing signature, or a timestamp more than five minutes off);
- accepts each `webhook-id` once: a redelivery gets 200 and changes nothing;
- appends what it accepted to a JSON-lines file, so it survives its own restart (each
  line handed to the OS before it answers; not fsynced: it plays a remote system, and its
  fsyncs were a third of its CPU, taken from the system on the machine it shares);
- can be told to fail (`POST /fail {"status": 503}`, or DVC_STANDIN_FAIL_STATUS), to
  play a portal that is down.

    uvicorn --factory minhbach_testing.dvc_standin:create_app --port 8010
    GET /received   what it holds: {"count", "duplicates", "rejected", "items"}, each item
                    {"id", "received_at", "payload", "body", "headers"} (the signed request)
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from standardwebhooks import Webhook

from minhbach_shared.settings import DEV_DVC_SECRET


class StandinSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVC_STANDIN_", extra="ignore", populate_by_name=True)

    secret: str = DEV_DVC_SECRET
    var_dir: Path = Field(Path("var"), validation_alias=AliasChoices("MB_VAR_DIR", "var_dir"))
    # Default: <MB_VAR_DIR>/dvc-received.jsonl
    file: Path | None = None
    # Answer every webhook with this status instead of taking it (e.g. 503).
    fail_status: int | None = Field(None, ge=400, le=599)

    @property
    def path(self) -> Path:
        return self.file or self.var_dir / "dvc-received.jsonl"


class Store:
    """What the receiver accepted, in memory and appended to a JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.items: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.duplicates = 0
        self.rejected = 0
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    item = json.loads(line)
                    self.items.append(item)
                    self.ids.add(str(item["id"]))

    def accept(self, msg_id: str, payload: Any, *, body: str, headers: dict[str, str]) -> bool:
        """Keep it unless this webhook-id was taken before; True when it is new."""
        with self.lock:
            if msg_id in self.ids:
                self.duplicates += 1
                return False
            # The request as it came too, so a test can verify the signature itself.
            item = {
                "id": msg_id,
                "received_at": datetime.now(UTC).isoformat(),
                "payload": payload,
                "body": body,
                "headers": headers,
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
                handle.flush()
            self.items.append(item)
            self.ids.add(msg_id)
            return True


def create_app(settings: StandinSettings | None = None) -> FastAPI:
    settings = settings or StandinSettings()
    webhook = Webhook(settings.secret)
    store = Store(settings.path)
    app = FastAPI(title="dvc stand-in receiver (dev and test only)")
    app.state.store = store
    app.state.fail_status = settings.fail_status
    app.state.retry_after = None

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/dvc")
    async def receive(request: Request) -> JSONResponse:
        failing: int | None = app.state.fail_status
        if failing is not None:
            wait = app.state.retry_after
            headers = {"Retry-After": str(wait)} if wait is not None else None
            return JSONResponse({"detail": "told to fail"}, status_code=failing, headers=headers)
        data = await request.body()
        try:
            payload = webhook.verify(data, dict(request.headers))
        except Exception as exc:  # a malformed signature header raises ValueError, not the library error
            store.rejected += 1
            return JSONResponse({"detail": f"signature: {exc}"}, status_code=401)
        signed = {k: request.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        # A line handed to the OS, not fsynced: short enough for the event loop, no thread hop.
        new = store.accept(signed["webhook-id"], payload, body=data.decode("utf-8"), headers=signed)
        return JSONResponse({"accepted": new, "duplicate": not new})

    @app.get("/received")
    def received() -> dict[str, Any]:
        return {
            "count": len(store.items),
            "duplicates": store.duplicates,
            "rejected": store.rejected,
            "items": store.items,
        }

    @app.post("/fail")
    def fail(
        status: int | None = Body(None, embed=True, ge=400, le=599),
        retry_after: int | None = Body(None, embed=True, ge=0),
    ) -> dict[str, int | None]:
        """{"status": 503}: answer every webhook so from now on; {"status": null}: take them again.

        {"status": 503, "retry_after": 600} also sends `Retry-After: 600`.
        """
        app.state.fail_status = status
        app.state.retry_after = retry_after
        return {"status": status, "retry_after": retry_after}

    return app
