"""The whole system as separate processes, started from the Procfile's own command lines.

For the cross-service tests (tests/) and the benchmarks (bench/); never imported by a service.

Each process gets its own free port, temporary databases and portal directory, so a
test (or a benchmark) runs beside a running `make up`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from console.domain import DEMO_PASSWORD
from console.identity import all_api_audiences, issue_token
from minhbach_shared.auth import Role
from minhbach_shared.settings import DEV_DVC_SECRET
from minhbach_shared.times import VIETNAM
from minhbach_testing.plugin import REPO_ROOT, RedisServer, ServiceProcess, free_port, shared_dir, wait_until
from minhbach_testing.tokens import signing_key

PROCFILE = REPO_ROOT / "Procfile"
BIN = Path(sys.executable).parent
_DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")
# The version marker every procedure page carries (portal page and centre notice).
MB_VERSION = re.compile(r'<meta name="mb:version" content="(\d+)"')


def today_in_vietnam() -> str:
    return datetime.now(VIETNAM).date().isoformat()


def procfile() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in PROCFILE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def expand(command: str, env: dict[str, str]) -> list[str]:
    """Expand ${VAR:-default} as the shell would, then split into argv."""
    return shlex.split(_DEFAULT.sub(lambda m: env.get(m.group(1)) or m.group(2), command))


# The backbone: one owner, its relay and worker, and the notifier. Tests that kill
# parts of the system start only these.
CORE_PROCESSES = (
    "procedures",
    "procedures-relay",
    "procedures-worker",
    "procedures-beat",
    "notifier",
    "notifier-events",
    "notifier-maintenance",
    "notifier-portal",
    "notifier-center",
    "notifier-beat",
)
# Everything but Redis (the test owns it) and Flower (nobody looks at it in a test).
APP_PROCESSES = (
    *CORE_PROCESSES[:4],
    "content",
    "content-relay",
    "content-worker",
    "content-beat",
    "hotline",
    "hotline-relay",
    "hotline-worker",
    "hotline-beat",
    "dvc-standin",
    "console",
    *CORE_PROCESSES[4:],
    "notifier-dvc",
    "notifier-email",
    "notifier-search",
)
# The dvc channel: the stand-in receiver (the external portal) and the channel's worker.
# Without its worker the channel is off (NOTIFIER_DVC_URL empty): no rows pile up.
DVC_PROCESSES = ("dvc-standin", "notifier-dvc")
HEALTH = {
    "dvc-standin": "DVC_STANDIN_PORT",
    "procedures": "PROCEDURES_PORT",
    "content": "CONTENT_PORT",
    "hotline": "HOTLINE_PORT",
    "notifier": "NOTIFIER_PORT",
    "console": "CONSOLE_PORT",
    "notifier-search": "SEARCH_PORT",
}
SERVICES = ("procedures", "content", "hotline", "notifier")
# Every service with a database to migrate.
MIGRATED = (*SERVICES, "console")


class SystemClient:
    """Talking to a running system as its users would: over HTTP, with tokens.

    The addresses come from the subclass: the Procfile's processes (System), or the
    docker compose stack's published ports (tests/compose/test_live.py).
    """

    @property
    def procedures_url(self) -> str:
        raise NotImplementedError

    @property
    def content_url(self) -> str:
        raise NotImplementedError

    @property
    def hotline_url(self) -> str:
        raise NotImplementedError

    @property
    def notifier_url(self) -> str:
        raise NotImplementedError

    @property
    def pages_url(self) -> str:
        """Where the public pages are served: /portal/ and /center/ under it."""
        raise NotImplementedError

    @property
    def console_url(self) -> str:
        raise NotImplementedError

    def token_for(self, roles: list[Role], subject: str) -> str:
        """An access token for the four APIs, as the system's console would sign it."""
        raise NotImplementedError

    def logs(self) -> str:
        """The end of every process's log, for a failing test to show."""
        raise NotImplementedError

    def token(self, *roles: Role, subject: str | None = None) -> dict[str, str]:
        """A bearer header; by default each role is its own person (editor != approver)."""
        who = subject or f"e2e-{roles[0].value}"
        return {"Authorization": f"Bearer {self.token_for(list(roles), who)}"}

    def procedures(self) -> httpx.Client:
        return httpx.Client(base_url=self.procedures_url, timeout=10)

    def content(self) -> httpx.Client:
        return httpx.Client(base_url=self.content_url, timeout=10)

    def hotline(self) -> httpx.Client:
        return httpx.Client(base_url=self.hotline_url, timeout=10)

    def notifier(self) -> httpx.Client:
        return httpx.Client(base_url=self.notifier_url, timeout=10)

    @contextlib.contextmanager
    def console(self, username: str, password: str = DEMO_PASSWORD) -> Iterator[httpx.Client]:
        """A browser-like client of the console, signed in as `username` (a demo account by
        default: bientap, bientap2, pheduyet, ...): it fetches the sign-in page for its
        token, posts the form, and keeps the session cookie."""
        with httpx.Client(base_url=self.console_url, timeout=10) as client:
            page = client.get("/console/sign-in")
            token = re.search(r'name="signin_token" value="([^"]+)"', page.text)
            assert token, page.text
            answer = client.post(
                "/console/sign-in",
                data={"username": username, "password": password, "signin_token": token.group(1), "next": ""},
            )
            assert answer.status_code == 303, answer.text
            yield client

    def portal_page(self, path: str, *, channel: str = "portal") -> httpx.Response:
        """A public page: the portal's, or the service centre's (channel="center")."""
        return httpx.get(f"{self.pages_url}/{channel}/{path}", timeout=10)

    def shown_version(self, code: str, channel: str = "portal") -> int | None:
        """The version a procedure's page shows (its mb:version marker); None: no page yet."""
        page = self.portal_page(f"thu-tuc/{code}.html", channel=channel)
        match = MB_VERSION.search(page.text)
        return int(match.group(1)) if page.status_code == 200 and match else None

    def deliveries(self, status: str, **filters: str) -> list[dict[str, Any]]:
        """Every delivery row with `status`, as GET /v1/deliveries lists them, all pages;
        `filters`: channel, subject_kind, subject_id."""
        items: list[dict[str, Any]] = []
        with self.notifier() as api:
            for page in range(1, 1000):
                params: dict[str, str | int] = {"status": status, **filters, "size": 200, "page": page}
                got = api.get("/v1/deliveries", params=params, headers=self.token(Role.OPERATOR))
                assert got.status_code == 200, got.text
                items.extend(got.json()["items"])
                if len(items) >= got.json()["total"]:
                    return items
        raise AssertionError("too many deliveries to list")

    def wait_for_page(
        self, path: str, contains: str, *, timeout: float = 15.0, channel: str = "portal"
    ) -> str:
        def shows() -> str | None:
            page = self.portal_page(path, channel=channel)
            return page.text if page.status_code == 200 and contains in page.text else None

        try:
            message = f"/{channel}/{path} to show {contains!r}"
            return str(wait_until(shows, timeout=timeout, message=message))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def create_procedure(self, body: dict[str, Any]) -> None:
        with self.procedures() as api:
            response = api.post("/v1/procedures", json=body, headers=self.token(Role.EDITOR))
            assert response.status_code == 201, response.text

    def upload_image(self, filename: str, image: bytes) -> str:
        """Upload a PNG to the content service as an editor; its attachment id."""
        with self.content() as api:
            uploaded = api.post(
                "/v1/attachments",
                files={"file": (filename, image, "image/png")},
                headers=self.token(Role.EDITOR),
            )
            assert uploaded.status_code == 201, uploaded.text
            return str(uploaded.json()["id"])

    def write_article(self, body: dict[str, Any]) -> int:
        """Write an article and submit it for approval (an editor); its id."""
        with self.content() as api:
            created = api.post("/v1/articles", json=body, headers=self.token(Role.EDITOR))
            assert created.status_code == 201, created.text
            article_id = int(created.json()["id"])
            submitted = api.post(f"/v1/articles/{article_id}/submit", headers=self.token(Role.EDITOR))
            assert submitted.status_code == 200, submitted.text
        return article_id

    def publish_answer(self, ticket: dict[str, Any], *, unit: str, answer: str) -> dict[str, Any]:
        """A call logged by a hotline officer, accepted, assigned to `unit`, answered, approved
        and published (an approver); the ticket as logged (id, tracking_code)."""
        with self.hotline() as api:
            logged = api.post("/v1/tickets", json=ticket, headers=self.token(Role.HOTLINE))
            assert logged.status_code == 201, logged.text
            made: dict[str, Any] = logged.json()
            for action, role, body in (
                ("accept", Role.HOTLINE, None),
                ("assign", Role.HOTLINE, {"unit": unit}),
                ("answer", Role.HOTLINE, {"answer": answer}),
                ("approve", Role.APPROVER, None),
                ("publish", Role.APPROVER, None),
            ):
                done = api.post(f"/v1/tickets/{made['id']}/{action}", json=body, headers=self.token(role))
                assert done.status_code == 200, (action, done.text)
        return made

    def publish_article(self, body: dict[str, Any]) -> str:
        """Write, submit and publish an article (editor, then approver); its slug."""
        article_id = self.write_article(body)
        with self.content() as api:
            published = api.post(f"/v1/articles/{article_id}/publish", headers=self.token(Role.APPROVER))
            assert published.status_code == 200, published.text
            draft = api.get(f"/v1/articles/{article_id}/draft", headers=self.token(Role.EDITOR))
            return str(draft.json()["slug"])

    def decide(self, number: str, changes: list[dict[str, Any]], *, effective_on: str) -> httpx.Response:
        """Create and submit a decision (an editor), then publish it (an approver, another
        person: four eyes); returns the publish response, or the submit's refusal (a 422
        naming what each procedure lacks)."""
        with self.procedures() as api:
            created = api.post(
                "/v1/decisions",
                json={
                    "number": number,
                    "title": f"Công bố thủ tục hành chính ({number})",
                    "issuer": "Sở Xây dựng tỉnh Thái Bình",
                    "signed_on": effective_on,
                    "effective_on": effective_on,
                    "changes": changes,
                },
                headers=self.token(Role.EDITOR),
            )
            assert created.status_code == 201, created.text
            decision_id = created.json()["id"]
            submitted = api.post(f"/v1/decisions/{decision_id}/submit", headers=self.token(Role.EDITOR))
            if submitted.status_code != 200:
                return submitted
            return api.post(f"/v1/decisions/{decision_id}/publish", headers=self.token(Role.APPROVER))


@dataclass
class System(SystemClient):
    root: Path
    redis: RedisServer
    overrides: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.procedures_port = free_port()
        self.content_port = free_port()
        self.hotline_port = free_port()
        self.notifier_port = free_port()
        # Where the notifier sends e-mail: a test that reads mail starts an SMTP server here.
        self.smtp_port = free_port()
        # The stand-in for the external online public service portal (dvc channel).
        self.dvc_port = free_port()
        self.console_port = free_port()
        self.search_port = free_port()
        var = self.root / "var"
        var.mkdir(parents=True, exist_ok=True)
        self.portal_dir = var / "portal"
        self.center_dir = var / "center"
        self.env: dict[str, str] = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "MB_ENVIRONMENT": "test",
            "MB_REDIS_URL": self.redis.url,
            "MB_VAR_DIR": str(var),
            "MB_LOG_JSON": "true",
            # As `make up`: no proxy in front, so no X-Forwarded-For is believed (uvicorn
            # would trust one from 127.0.0.1, and every local client is 127.0.0.1).
            "FORWARDED_ALLOW_IPS": "",
            "PROCEDURES_PORT": str(self.procedures_port),
            "PROCEDURES_DATABASE_URL": f"sqlite:///{var / 'procedures.db'}",
            "PROCEDURES_APPLY_DUE_EVERY_S": "1",
            "CONTENT_PORT": str(self.content_port),
            "CONTENT_DATABASE_URL": f"sqlite:///{var / 'content.db'}",
            "CONTENT_ATTACHMENTS_DIR": str(var / "attachments"),
            "CONTENT_PROCEDURES_URL": f"http://127.0.0.1:{self.procedures_port}",
            "CONTENT_APPLY_SCHEDULE_EVERY_S": "1",
            "HOTLINE_PORT": str(self.hotline_port),
            "HOTLINE_DATABASE_URL": f"sqlite:///{var / 'hotline.db'}",
            "HOTLINE_PROCEDURES_URL": f"http://127.0.0.1:{self.procedures_port}",
            # The portal's hotline form posts from the notifier's origin (its port is random).
            "HOTLINE_CORS_ORIGINS": json.dumps([f"http://127.0.0.1:{self.notifier_port}"]),
            "NOTIFIER_PORT": str(self.notifier_port),
            "NOTIFIER_DATABASE_URL": f"sqlite:///{var / 'notifier.db'}",
            "NOTIFIER_PROCEDURES_URL": f"http://127.0.0.1:{self.procedures_port}",
            "NOTIFIER_CONTENT_URL": f"http://127.0.0.1:{self.content_port}",
            "NOTIFIER_CONTENT_PUBLIC_URL": f"http://127.0.0.1:{self.content_port}",
            "NOTIFIER_HOTLINE_URL": f"http://127.0.0.1:{self.hotline_port}",
            "NOTIFIER_SMTP_HOST": "127.0.0.1",
            "NOTIFIER_SMTP_PORT": str(self.smtp_port),
            "NOTIFIER_PORTAL_DIR": str(self.portal_dir),
            "NOTIFIER_CENTER_DIR": str(self.center_dir),
            # Links in e-mails point here; changes wait 1 s (not 60) to coalesce into one e-mail.
            "NOTIFIER_PUBLIC_URL": f"http://127.0.0.1:{self.notifier_port}",
            "NOTIFIER_SUBSCRIBER_DELAY_S": "1",
            "NOTIFIER_PUMP_INTERVAL_S": "1",
            "NOTIFIER_CHANNEL_STALL_S": "5",
            "NOTIFIER_RECONCILE_INTERVAL_S": "3",
            "NOTIFIER_RETRY_BASE_S": "0.2",
            "NOTIFIER_PORTAL_PUBLIC_URL": f"http://127.0.0.1:{self.notifier_port}/portal",
            "NOTIFIER_DVC_URL": f"http://127.0.0.1:{self.dvc_port}/webhooks/dvc",
            "NOTIFIER_DVC_SECRET": DEV_DVC_SECRET,
            # The console: the one token issuer (its key is this test process's, so tests
            # sign as it does), calling the APIs above as the signed-in person.
            "MB_AUTH_ISSUER": f"http://127.0.0.1:{self.console_port}",
            "CONSOLE_PORT": str(self.console_port),
            "SEARCH_PORT": str(self.search_port),
            "CONSOLE_DATABASE_URL": f"sqlite:///{var / 'console.db'}",
            "CONSOLE_SIGNING_KEY_FILE": str(signing_key().private_pem),
            "CONSOLE_PROCEDURES_URL": f"http://127.0.0.1:{self.procedures_port}",
            "CONSOLE_CONTENT_URL": f"http://127.0.0.1:{self.content_port}",
            "CONSOLE_HOTLINE_URL": f"http://127.0.0.1:{self.hotline_port}",
            "CONSOLE_NOTIFIER_URL": f"http://127.0.0.1:{self.notifier_port}",
            "CONSOLE_PORTAL_URL": f"http://127.0.0.1:{self.notifier_port}/portal",
            "CONSOLE_FAILURE_DELAY_STEP_S": "0.05",
            "DVC_STANDIN_PORT": str(self.dvc_port),
            "DVC_STANDIN_FILE": str(var / "dvc-received.jsonl"),
            **self.overrides,
        }

    def token_for(self, roles: list[Role], subject: str) -> str:
        # The test console signs with this process's test key (CONSOLE_SIGNING_KEY_FILE).
        return issue_token(
            signing_key().key,
            issuer=self.env["MB_AUTH_ISSUER"],
            subject=subject,
            roles=roles,
            audiences=all_api_audiences(),
        )

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    @property
    def pages_url(self) -> str:
        return self.notifier_url

    @property
    def procedures_url(self) -> str:
        return f"http://127.0.0.1:{self.procedures_port}"

    @property
    def content_url(self) -> str:
        return f"http://127.0.0.1:{self.content_port}"

    @property
    def hotline_url(self) -> str:
        return f"http://127.0.0.1:{self.hotline_port}"

    @property
    def notifier_url(self) -> str:
        return f"http://127.0.0.1:{self.notifier_port}"

    @property
    def dvc_url(self) -> str:
        """The dvc stand-in receiver: GET /received, POST /fail."""
        return f"http://127.0.0.1:{self.dvc_port}"

    def manage(self, service: str, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", f"{service}.manage", *args],
            env={**os.environ, **self.env},
            check=True,
            capture_output=True,
        )

    def start(self, names: tuple[str, ...] = APP_PROCESSES) -> System:
        """Migrate, then start every process at once and wait until each API answers.

        All at once, as `make up` (honcho) and compose start them: nothing may depend on
        the order (an owner that is not up yet is caught up with when it is)."""
        if "notifier-dvc" not in names:
            self.env["NOTIFIER_DVC_URL"] = ""  # off: nobody would send its rows
        if "console" not in names:
            # No issuer running to fetch keys from: the APIs read the test key's JWKS file.
            self.env.setdefault("MB_AUTH_JWKS_FILE", str(signing_key().jwks_file))
        with ThreadPoolExecutor() as pool:
            list(pool.map(lambda service: self.manage(service, "migrate"), set(MIGRATED) & set(names)))
        spawned = [self.spawn_process(name) for name in names]
        for process in spawned:
            process.wait_healthy(timeout=60)
        return self

    def spawn_process(self, name: str) -> ServiceProcess:
        port_var = HEALTH.get(name)
        process = ServiceProcess(
            name=name,
            argv=expand(procfile()[name], self.env),
            env=self.env,
            log_path=self.root / "logs" / f"{name}.log",
            health_url=f"http://127.0.0.1:{self.env[port_var]}/healthz" if port_var else None,
        )
        self.processes[name] = process.spawn()
        return process

    def start_process(self, name: str) -> ServiceProcess:
        """Start one process (again) and wait until it answers its health check."""
        return self.spawn_process(name).wait_healthy(timeout=60)

    def stop(self) -> None:
        """SIGTERM to every process at once (each shuts down as it would under honcho), then wait."""
        for process in self.processes.values():
            process.signal(signal.SIGTERM)
        for process in self.processes.values():
            process.wait_stopped()

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{p.tail(30)}" for n, p in self.processes.items())

    def load_demo(self) -> None:
        """The demo data, as `make up` loads it: the sample procedures, the documents, the
        demo articles and answered questions, and the demo accounts when the console runs."""
        data = shared_dir() / "data"
        self.manage("procedures", "load-demo", str(data / "procedures-sample.json"))
        self.manage("content", "load-demo", str(data / "legal-documents.json"))
        self.manage("content", "load-demo-articles")
        self.manage("hotline", "load-demo", str(data / "procedures-sample.json"))
        if "console" in self.processes:
            self.manage("console", "demo-accounts")

    def dvc_received(self) -> list[dict[str, Any]]:
        """What the dvc stand-in accepted, oldest first (id, received_at, payload, body, headers)."""
        items: list[dict[str, Any]] = httpx.get(f"{self.dvc_url}/received", timeout=10).json()["items"]
        return items


@contextlib.contextmanager
def running_system(
    root: Path, processes: tuple[str, ...] = APP_PROCESSES, **overrides: str
) -> Iterator[System]:
    """A redis-server of its own and the system's processes on it, all stopped afterwards;
    `overrides`: environment variables for every process (NOTIFIER_RETRY_CAP_S="2")."""
    redis = RedisServer(port=free_port(), dir=root / "redis")
    redis.start()
    system = System(root=root, redis=redis, overrides=overrides)
    try:
        system.start(processes)
        yield system
    finally:
        system.stop()
        redis.stop()
