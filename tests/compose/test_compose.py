"""docker-compose.yml, checked statically (no Docker engine needed).

The compose file must run the same system as the Procfile: the same command lines
(modulo host binding and `${VAR:-default}` expansions), every long-running service
with a healthcheck, start order by health, one PostgreSQL database per service.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from minhbach_shared.settings import DEV_DVC_SECRET

ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the repository root (where CI has it).
SHARED = Path(__file__).resolve().parents[3] / "shared"
COMPOSE = ROOT / "docker-compose.yml"
PROCFILE = ROOT / "Procfile"
INIT_DB = ROOT / "deploy" / "postgres" / "init-databases.sh"
PORTAL_CONF = ROOT / "deploy" / "nginx" / "portal.conf"
BACKUP_SCRIPT = ROOT / "deploy" / "backup" / "backup.sh"
# One-shot jobs in the postgres image, each under a profile of its own name.
BACKUP_JOBS = ("backup", "restore")

APIS = {"procedures": 8001, "content": 8002, "hotline": 8003, "notifier": 8004}
# The console: staff pages and the one issuer of access tokens. A server with its own
# database and migrations like the APIs, but no Redis, no workers, no events.
CONSOLE = {"console": 8005}
SERVERS = {**APIS, **CONSOLE}
# The one-shot demo loaders: container -> (its image's service, the data file it loads;
# None: its data is drawn in code).
DEMOS: dict[str, tuple[str, str | None]] = {
    "procedures-demo": ("procedures", "procedures-sample.json"),
    "content-demo": ("content", "legal-documents.json"),
    "content-articles-demo": ("content", None),
    "hotline-demo": ("hotline", "procedures-sample.json"),
}
LONG_RUNNING_RESTART = "unless-stopped"
# Procfile processes that only run locally: the stand-in for the external online public
# service portal (compose sends the dvc channel's webhooks to a real endpoint instead).
LOCAL_ONLY = frozenset({"dvc-standin"})
# ${VAR}, ${VAR:-default}, ${VAR-default}; not ${VAR:?message} (that one must stay).
EXPANSION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


# --- helpers -----------------------------------------------------------------------------


def parse_procfile(text: str) -> dict[str, str]:
    """`name: command` lines; blank lines and `#` comments ignored."""
    processes: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        assert sep and re.fullmatch(r"[\w.-]+", name), f"Procfile line {number} is not `name: command`"
        assert name not in processes, f"Procfile names {name} twice"
        processes[name] = command.strip()
    return processes


def expand(text: str, env: dict[str, str]) -> str:
    """Replace `${VAR:-default}` by the container's value of VAR, else by the default."""

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return str(env[name])
        assert default is not None, f"${{{name}}} has no default and no value"
        return default

    return EXPANSION.sub(one, text)


def procfile_argv(command: str, env: dict[str, str]) -> list[str]:
    """A Procfile command as a container runs it: expanded, listening on all interfaces."""
    return shlex.split(expand(command, env).replace("127.0.0.1", "0.0.0.0"))


def split_command(command: str | list[str]) -> tuple[list[str], list[str]]:
    """(steps before the main process, main process argv) of a compose `command`.

    `sh -c "a && b && exec main"` gives ([a, b], main); a plain command gives ([], it).
    """
    argv = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
    if argv[:2] != ["sh", "-c"]:
        return [], argv
    assert len(argv) == 3, f"sh -c takes one script: {argv}"
    *before, main = [step.strip() for step in argv[2].split("&&")]
    main_argv = shlex.split(main)
    assert main_argv[0] == "exec", f"the main process must be exec'd (signals reach it): {main!r}"
    return before, main_argv[1:]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def long_running(service: dict[str, Any]) -> bool:
    return service.get("restart", "no") != "no"


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with backslash continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            instruction, _, args = stripped.partition(" ")
            result.append((instruction.upper(), args.strip()))
    return result


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def procfile() -> dict[str, str]:
    return parse_procfile(PROCFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def app_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Containers of our own images that run for good (not one-shot profile jobs)."""
    return {name: s for name, s in services.items() if "build" in s and long_running(s)}


# --- the parser and normaliser themselves -----------------------------------------------


def test_procfile_parser_and_normalisation() -> None:
    parsed = parse_procfile(
        "# c\n\nweb: uvicorn a:b --host 127.0.0.1 --port ${PORT:-80}\nb: x -s ${D:-var}/s\n"
    )
    assert parsed == {"web": "uvicorn a:b --host 127.0.0.1 --port ${PORT:-80}", "b": "x -s ${D:-var}/s"}
    assert procfile_argv(parsed["web"], {}) == ["uvicorn", "a:b", "--host", "0.0.0.0", "--port", "80"]
    assert procfile_argv(parsed["b"], {"D": "/app/var"}) == ["x", "-s", "/app/var/s"]
    assert split_command(["sh", "-c", "m migrate && exec u --x 1"]) == (["m migrate"], ["u", "--x", "1"])
    assert split_command("celery -A w worker") == ([], ["celery", "-A", "w", "worker"])
    with pytest.raises(AssertionError):
        split_command(["sh", "-c", "m migrate && u"])


# --- schema, images, Dockerfiles ---------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_spec(compose: dict[str, Any]) -> None:
    schema = json.loads((SHARED / "schemas" / "compose-spec.json").read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_each_build_has_its_dockerfile_and_copy_sources(services: dict[str, dict[str, Any]]) -> None:
    built = {name: s["build"] for name, s in services.items() if "build" in s}
    assert set(SERVERS) | {"flower"} <= built.keys()
    for name, build in built.items():
        context = (ROOT / build["context"]).resolve()
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: no {dockerfile}"
        copies = [
            args for op, args in dockerfile_instructions(dockerfile.read_text()) if op in {"COPY", "ADD"}
        ]
        assert copies, f"{name}: {dockerfile} copies nothing"
        for args in copies:
            parts = json.loads(args) if args.startswith("[") else shlex.split(args)
            if any(p.startswith("--from") for p in parts):
                continue
            sources = [p for p in parts if not p.startswith("--")][:-1]
            assert sources, f"{name}: malformed {args!r}"
            for source in sources:
                assert list(context.glob(source)), f"{name}: COPY source {source} missing from {context}"


# A base image pinned to a release (x.y.z, or vx.y.z as Prometheus tags them; PostgreSQL
# numbers its releases x.y), never a moving tag like `alpine`, `16` or `3.11-slim`.
PINNED = re.compile(r"^(postgres:\d+\.\d+|[\w./-]+:v?\d+\.\d+\.\d+)(-[\w.-]+)?$")


def base_image(dockerfile: str) -> str:
    """The image a Dockerfile starts FROM, with an `ARG NAME=default` before it resolved."""
    instructions = dockerfile_instructions(dockerfile)
    defaults = dict(args.split("=", 1) for op, args in instructions if op == "ARG" and "=" in args)
    (image,) = [args.split()[0] for op, args in instructions if op == "FROM"]
    return re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image)


def test_every_base_image_is_pinned_to_a_release(services: dict[str, dict[str, Any]]) -> None:
    # Overridable (MB_REDIS_IMAGE=..., the live test's stand-ins), pinned by default.
    pulled = {expand(s["image"], {}) for s in services.values() if "build" not in s and "image" in s}
    built = {
        s["build"].get("dockerfile", "Dockerfile"): (ROOT / s["build"]["context"]).resolve()
        for s in services.values()
        if "build" in s
    }
    for dockerfile, context in built.items():
        pulled.add(base_image((context / dockerfile).read_text()))
    assert pulled, "no base images found"
    loose = sorted(image for image in pulled if not PINNED.match(image))
    assert not loose, f"pin these to a release: {loose}"


def test_our_images_build_on_one_overridable_base(services: dict[str, dict[str, Any]]) -> None:
    """MB_PYTHON_IMAGE reaches every Dockerfile, whose own default is the same official image."""
    builds = [s["build"] for s in services.values() if "build" in s]
    for build in builds:
        argument = build["args"]["PYTHON_IMAGE"]
        assert argument.startswith("${MB_PYTHON_IMAGE:-"), build
        dockerfile = (ROOT / build["context"] / build["dockerfile"]).read_text()
        assert base_image(dockerfile) == expand(argument, {}), build["dockerfile"]
        # The optional CA bundle for pip reaches the build as a secret, never as a layer.
        assert build["secrets"] == ["build-ca"], build
        assert "--mount=type=secret,id=build-ca,required=false" in dockerfile, build["dockerfile"]


def test_the_build_context_leaves_out_what_is_not_the_images(compose: dict[str, Any]) -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var"} <= ignored
    assert compose["secrets"]["build-ca"] == {"file": "${MB_BUILD_CA_BUNDLE:-/dev/null}"}, "off unless set"


def test_one_image_per_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    image_of: dict[str, set[str]] = {}
    for name, s in services.items():
        if "build" in s:
            assert expand(s.get("image", ""), {}).endswith(":local"), f"{name}: name the image it builds"
            image_of.setdefault(s["build"]["dockerfile"], set()).add(s["image"])
    assert all(len(images) == 1 for images in image_of.values()), image_of
    assert len({next(iter(i)) for i in image_of.values()}) == len(image_of), "two Dockerfiles, one tag"
    for name, s in services.items():
        if "build" in s and name not in SERVERS and name != "flower":
            api = name.split("-", 1)[0]
            assert s["image"] == services[api]["image"] == f"minhbach/{api}:${{MB_IMAGE_TAG:-local}}", name
            assert s["build"] == services[api]["build"], name
    assert services["procedures-worker"]["image"] == services["procedures"]["image"]
    assert services["content-worker"]["image"] == services["content"]["image"]
    assert services["hotline-worker"]["image"] == services["hotline"]["image"]
    assert services["notifier-events"]["image"] == services["notifier"]["image"]


# --- the same processes as the Procfile --------------------------------------------------


def test_app_services_are_exactly_the_procfile_processes(
    app_services: dict[str, dict[str, Any]], procfile: dict[str, str]
) -> None:
    # Redis runs from its own image (checked below); everything else is one of ours,
    # but for the local stand-ins of external systems.
    assert set(app_services) == set(procfile) - {"redis"} - LOCAL_ONLY
    assert set(procfile) >= LOCAL_ONLY, "a local-only process the Procfile no longer has"


def test_commands_match_the_procfile(
    app_services: dict[str, dict[str, Any]], procfile: dict[str, str]
) -> None:
    for name, service in app_services.items():
        assert "command" in service, f"{name}: relies on the image's CMD, not the Procfile's command"
        _, argv = split_command(service["command"])
        assert argv == procfile_argv(procfile[name], environment(service)), name


def test_apis_migrate_before_they_start(app_services: dict[str, dict[str, Any]]) -> None:
    for name, port in SERVERS.items():
        before, argv = split_command(app_services[name]["command"])
        assert before == [f"python -m {name}.manage migrate"], name
        assert argv[0] == "uvicorn" and argv[argv.index("--port") + 1] == str(port)
        assert [f"127.0.0.1:{port}:{port}"] == [expand(p, {}) for p in app_services[name]["ports"]]
    for name, service in app_services.items():
        if name not in SERVERS:
            assert split_command(service["command"])[0] == [], f"{name} must not migrate (its API does)"


def test_redis_has_aof_like_the_procfile(
    services: dict[str, dict[str, Any]], procfile: dict[str, str]
) -> None:
    redis = services["redis"]
    assert expand(redis["image"], {}).startswith("redis:7")
    argv = shlex.split(redis["command"]) if isinstance(redis["command"], str) else redis["command"]
    assert argv[0] == "redis-server"
    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "everysec"
    local = shlex.split(procfile["redis"])
    assert local[local.index("--appendonly") + 1] == "yes"
    assert any(v.endswith(":/data") for v in redis["volumes"]), "AOF must live on a volume"


# --- health and start order --------------------------------------------------------------


def test_every_long_running_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    running = {name: s for name, s in services.items() if long_running(s)}
    assert len(running) >= 20
    for name, service in running.items():
        assert service["restart"] == LONG_RUNNING_RESTART, name
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), f"{name}: no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
    for name, port in SERVERS.items():
        assert f"http://127.0.0.1:{port}/healthz" in " ".join(services[name]["healthcheck"]["test"])
    for name, node in {
        "procedures-worker": "procedures",
        "content-worker": "content",
        "hotline-worker": "hotline",
        "notifier-events": "events",
        "notifier-maintenance": "maintenance",
        "notifier-portal": "portal",
        "notifier-dvc": "dvc",
        "notifier-email": "email",
    }.items():
        # $$ is compose's escape: the shell sees $HOSTNAME, which celery's %h expands to.
        check = services[name]["healthcheck"]["test"]
        assert check[0] == "CMD-SHELL" and f"inspect ping -d {node}@$$HOSTNAME" in check[1], name
        assert f"-n {node}@%h" in " ".join(split_command(services[name]["command"])[1]), name
    for name, service in running.items():
        # Relays and beats have no port to probe: PID 1 must be the process itself.
        test = " ".join(service["healthcheck"]["test"])
        if name.endswith("-relay"):
            module = name.replace("-", ".")
            assert f"b'{module}' not in open('/proc/1/cmdline'" in test, name
        if name.endswith("-beat"):
            assert "b'beat' not in open('/proc/1/cmdline'" in test, name


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_one_shot_jobs_do_not_inherit_the_api_healthcheck(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    api, data_file = DEMOS[name]
    demo = services[name]
    assert demo["profiles"] == ["demo"]
    assert demo["restart"] == "no"
    assert demo["healthcheck"] == {"disable": True}
    assert demo["image"] == services[api]["image"]
    argv = split_command(demo["command"])[1]
    if data_file is None:
        assert argv == ["python", "-m", f"{api}.manage", "load-demo-articles"]
        # Nothing to read; its pictures go where the API keeps attachments.
        assert demo["volumes"] == [v for v in services[api]["volumes"] if v.startswith("attachments:")]
        assert demo["depends_on"][api] == {"condition": "service_healthy"}
        return
    assert argv == ["python", "-m", f"{api}.manage", "load-demo", f"/data/{data_file}"]
    assert len(demo["volumes"]) == 1, "the data directory only"
    host, container = demo["volumes"][0].rsplit(":", 2)[:2]
    data_dir = (ROOT / expand(host, {})).resolve()
    assert data_dir == SHARED.resolve() / "data"
    assert (data_dir / data_file).is_file()
    assert container == "/data"
    # Loaded through the API's own migrations, the same data directory for every demo.
    assert demo["depends_on"][api] == {"condition": "service_healthy"}
    assert demo["volumes"] == services["procedures-demo"]["volumes"]


def test_demo_profile_is_only_the_demo_loaders(services: dict[str, dict[str, Any]]) -> None:
    profiled = {name for name, s in services.items() if "demo" in s.get("profiles", [])}
    assert profiled == set(DEMOS)
    # Compose runs in production, where the console refuses to start while a demo account
    # (its password is published) exists: the demo profile never makes them.
    assert "demo-accounts" not in COMPOSE.read_text(encoding="utf-8")
    assert environment(services["console"])["MB_ENVIRONMENT"] == "production"
    # The demo documents link the demo procedures' codes, which the content API checks.
    assert services["content-demo"]["depends_on"]["procedures-demo"] == {
        "condition": "service_completed_successfully"
    }


def test_backup_and_restore_are_one_shot_jobs_in_the_postgres_image(
    services: dict[str, dict[str, Any]],
) -> None:
    postgres = environment(services["postgres"])
    for name in BACKUP_JOBS:
        job = services[name]
        assert job["profiles"] == [name] and job["restart"] == "no", name
        # Root whatever the image's default (the stand-in's is postgres): the volumes' owners vary.
        assert job["user"] == "root", name
        # The server's own image: pg_dump and pg_restore of its version.
        assert job["image"] == services["postgres"]["image"], name
        assert job["entrypoint"] == ["sh", "/opt/minhbach/backup.sh", name.replace("backup", "create")]
        assert f"./{BACKUP_SCRIPT.relative_to(ROOT)}:/opt/minhbach/backup.sh:ro" in job["volumes"], name
        assert job["depends_on"] == {"postgres": {"condition": "service_healthy"}}, name
        env = environment(job)
        assert (env["PGHOST"], env["PGUSER"]) == ("postgres", postgres["POSTGRES_USER"]), name
        assert env["PGPASSWORD"] == postgres["POSTGRES_PASSWORD"], name
    assert "${MB_BACKUP_DIR:-./backups}:/backups" in services["backup"]["volumes"]
    assert "attachments:/attachments:ro" in services["backup"]["volumes"]
    # The restore writes the attachments back and empties what the system rebuilds: the
    # very volumes the services use, where the script looks for them.
    restore = services["restore"]["volumes"]
    assert "${MB_BACKUP_DIR:-./backups}:/backups:ro" in restore
    content = environment(services["content"])["CONTENT_ATTACHMENTS_DIR"]
    notifier = environment(services["notifier"])
    for volume, used_at in {
        "attachments": (services["content"], content),
        "portal": (services["notifier"], notifier["NOTIFIER_PORTAL_DIR"]),
        "center": (services["notifier"], notifier["NOTIFIER_CENTER_DIR"]),
        "redis-data": (services["redis"], "/data"),
    }.items():
        assert f"{volume}:{used_at[1]}" in used_at[0]["volumes"], volume
        assert f"{volume}:/{volume}" in restore, volume
    script = BACKUP_SCRIPT.read_text(encoding="utf-8")
    assert 'ATTACHMENTS="${MB_ATTACHMENTS:-/attachments}"' in script
    assert 'REBUILT="${MB_REBUILT:-/portal /center /redis-data}"' in script
    assert "backups" in (ROOT / ".dockerignore").read_text().split(), "never in an image"


def test_the_backup_dumps_every_service_database(services: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """Run deploy/backup/backup.sh with a pg_dump that records what it was asked to dump:
    every database init-databases.sh creates and the services use, the notifier first, in
    the order scripts/backup.py copies them locally."""
    log = tmp_path / "pg_dump.log"
    fake = tmp_path / "pg_dump"
    fake.write_text(
        "#!/bin/sh\nfor a; do case $a in --dbname=*) db=${a#--dbname=};; --file=*) f=${a#--file=};; "
        "--format=custom) fc=1;; esac; done\n"
        f'[ -n "$fc" ] && echo "$db" >> {log} && echo dump > "$f"\n'
    )
    fake.chmod(0o755)
    (tmp_path / "backups").mkdir()
    (tmp_path / "attachments").mkdir()
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "MB_BACKUPS": str(tmp_path / "backups"),
        "MB_ATTACHMENTS": str(tmp_path / "attachments"),
    }
    subprocess.run(["sh", str(BACKUP_SCRIPT), "create"], env=env, check=True, capture_output=True)
    dumped = log.read_text().split()
    assert dumped[0] == "notifier", "the consumer first: never ahead of the owners it reads"
    (created,) = re.findall(r"^for db in ([\w ]+); do$", INIT_DB.read_text(), flags=re.MULTILINE)
    assert sorted(dumped) == sorted(created.split())
    used = {urlsplit(expand(url, {})).path.lstrip("/") for url in _database_urls(services).values()}
    assert set(dumped) == used
    local = re.search(r"^SERVICES = \(([^)]*)\)", (ROOT / "scripts" / "backup.py").read_text(), re.MULTILINE)
    assert local and re.findall(r'"(\w+)"', local.group(1)) == dumped
    (backup,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["databases"] == {db: f"databases/{db}.pgdump" for db in dumped}


def test_every_depends_on_waits_for_a_condition(services: dict[str, dict[str, Any]]) -> None:
    edges = 0
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        for target, spec in depends.items():
            edges += 1
            assert target in services, f"{name} -> {target}"
            assert spec.get("condition") in {"service_healthy", "service_completed_successfully"}, name
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}, which has none"
    assert edges >= 25


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    def healthy(name: str) -> set[str]:
        deps = services[name].get("depends_on", {})
        return {t for t, s in deps.items() if s["condition"] == "service_healthy"}

    for api in APIS:
        assert {"postgres", "redis"} <= healthy(api), api
    # The console needs its database only. The APIs do not wait for it: they fetch its
    # keys when the first token comes (a 503 until it answers), so they start without it.
    assert healthy("console") == {"postgres"}
    for api in APIS:
        assert "console" not in healthy(api), api
    for name in services:
        for api in APIS:
            if name.startswith(f"{api}-"):
                assert api in healthy(name), f"{name} must wait for {api} (its migrations)"
    # They check procedure codes against the procedures API.
    for api in ("content", "hotline"):
        assert "procedures" in healthy(api), api
    # The notifier's event worker fetches subjects from every owner it is given (the
    # dvc endpoint is where a channel sends, not an owner).
    owners = {
        urlsplit(url).hostname
        for key, url in environment(services["notifier-events"]).items()
        if key.startswith("NOTIFIER_")
        and key.endswith("_URL")
        and not key.endswith(("_DATABASE_URL", "_PUBLIC_URL"))
        and key != "NOTIFIER_DVC_URL"
    }
    assert owners == {"procedures", "content", "hotline"}
    assert owners <= healthy("notifier-events")
    # Reconcile, on the maintenance worker, asks each owner for its versions.
    assert owners <= healthy("notifier-maintenance")
    assert "notifier" in healthy("nginx")
    assert "console" in healthy("nginx"), "nginx proxies /console/ (it resolves upstreams at start)"


# --- configuration -----------------------------------------------------------------------


def test_app_environment(app_services: dict[str, dict[str, Any]]) -> None:
    for name, service in app_services.items():
        env = environment(service)
        assert env["MB_ENVIRONMENT"] == "production", name
        assert env["MB_REDIS_URL"] == "redis://redis:6379/0", name
        assert env["MB_LOG_JSON"] == "true", name
        assert env["MB_VAR_DIR"] == "/app/var", name
        # One token issuer for every service: the console unless the deployment names its
        # own (an OpenID issuer whose roles are in MB_AUTH_ROLES_CLAIM). No shared secret.
        assert env["MB_AUTH_ISSUER"] == "${MB_AUTH_ISSUER:-http://console:8005}", name
        assert env["MB_AUTH_ROLES_CLAIM"] == "${MB_AUTH_ROLES_CLAIM:-roles}", name
        assert not any("JWT_SECRET" in key for key in env), name
        if name == "console":
            # It calls the owners as the signed-in person, over the compose network.
            for api, port in APIS.items():
                assert env[f"CONSOLE_{api.upper()}_URL"] == f"http://{api}:{port}", api
            assert env["CONSOLE_PORTAL_URL"] == "${MB_PORTAL_PUBLIC_URL:-http://localhost:8080/portal}"
        if name.startswith("notifier"):
            assert env["NOTIFIER_PROCEDURES_URL"] == "http://procedures:8001", name
            assert env["NOTIFIER_CONTENT_URL"] == "http://content:8002", name
            assert env["NOTIFIER_HOTLINE_URL"] == "http://hotline:8003", name
            # Attachment links the public follows: nginx's origin, as the pages' (CSP 'self').
            assert env["NOTIFIER_CONTENT_PUBLIC_URL"] == env["NOTIFIER_PUBLIC_URL"], name
            # dvc: a real endpoint or off, never the local stand-in; no secret in the file.
            assert env["NOTIFIER_DVC_URL"] == "${MB_DVC_URL:-}", name
            assert env["NOTIFIER_DVC_SECRET"] == "${MB_DVC_SECRET:-}", name
        for api in ("content", "hotline"):
            if name.startswith(api):
                assert env[f"{api.upper()}_PROCEDURES_URL"] == "http://procedures:8001", name
    # The shared HS256 secret is gone: nothing sets it, nothing reads it.
    assert "JWT_SECRET" not in COMPOSE.read_text(encoding="utf-8")
    assert DEV_DVC_SECRET not in COMPOSE.read_text(encoding="utf-8")


def _database_urls(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for name, service in services.items():
        for key, value in environment(service).items():
            if key.endswith("_DATABASE_URL"):
                assert urls.setdefault(key, value) == value, f"{name}: {key} differs from other containers"
    return urls


def test_one_postgres_database_per_service(services: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    postgres = environment(services["postgres"])
    urls = _database_urls(services)
    assert set(urls) == {f"{server.upper()}_DATABASE_URL" for server in SERVERS}
    expected = set()
    for key, url in urls.items():
        parts = urlsplit(expand(url, {}))
        assert parts.scheme == "postgresql+psycopg", key
        assert (parts.hostname, parts.port) == ("postgres", 5432), key
        assert parts.username == postgres["POSTGRES_USER"], key
        assert parts.password == expand(postgres["POSTGRES_PASSWORD"], {}), key
        database = parts.path.lstrip("/")
        assert database == key.removesuffix("_DATABASE_URL").lower(), f"{key}: the service's own database"
        expected.add(database)
    assert "${POSTGRES_PASSWORD:-" in postgres["POSTGRES_PASSWORD"]

    mounts = services["postgres"]["volumes"]
    assert f"./{INIT_DB.relative_to(ROOT)}:/docker-entrypoint-initdb.d/{INIT_DB.name}:ro" in mounts

    # Run the init script with a psql that records what it was asked to do.
    log = tmp_path / "psql.log"
    fake = tmp_path / "psql"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "POSTGRES_USER": "minhbach"}
    subprocess.run(["sh", str(INIT_DB)], env=env, check=True, capture_output=True)
    created = set(re.findall(r'CREATE DATABASE "(\w+)" OWNER "minhbach"', log.read_text()))
    assert created == expected


def test_portal_is_shared_with_nginx(services: dict[str, dict[str, Any]]) -> None:
    writers = {name: s for name, s in services.items() if name.startswith("notifier") and "build" in s}
    for name, service in writers.items():
        portal_dir = environment(service)["NOTIFIER_PORTAL_DIR"]
        assert f"portal:{portal_dir}" in service["volumes"], name
    assert "portal:/srv/portal:ro" in services["nginx"]["volumes"]
    assert "./deploy/nginx/portal.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]
    assert [expand(p, {}) for p in services["nginx"]["ports"]] == ["8080:8080"]


def test_no_notifier_container_needs_a_shared_lock_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    # A channel's lock is in Redis (notifier.broker.channel_lock): channel workers may run
    # in any container, on any host; only the portal and centre directories are shared.
    notifiers = {name: s for name, s in services.items() if s.get("image") == services["notifier"]["image"]}
    assert {"notifier-events", "notifier-dvc", "notifier-portal"} <= notifiers.keys()
    for name, service in notifiers.items():
        assert not [v for v in service["volumes"] if "locks" in v], name
    assert "notifier-locks" not in compose["volumes"]


def test_content_attachments_live_on_a_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    api = services["content"]
    attachments_dir = environment(api)["CONTENT_ATTACHMENTS_DIR"]
    # Under /app/var, which the image creates and gives its user: the fresh named
    # volume copies that ownership, so the API can write to it.
    assert attachments_dir.startswith("/app/var/"), attachments_dir
    assert f"attachments:{attachments_dir}" in api["volumes"]
    assert "attachments" in compose["volumes"]
    dockerfile = (ROOT / api["build"]["context"] / api["build"]["dockerfile"]).read_text()
    run = " ".join(args for op, args in dockerfile_instructions(dockerfile) if op == "RUN")
    assert f"mkdir -p {attachments_dir}" in run and "chown -R minhbach /app/var" in run
    assert ("USER", "minhbach") in dockerfile_instructions(dockerfile)
    # Every content container agrees on where attachments are, whoever mounts them.
    for name, service in services.items():
        if name.startswith("content"):
            assert environment(service)["CONTENT_ATTACHMENTS_DIR"] == attachments_dir, name


def test_the_console_signing_key_lives_on_a_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    """Made on the first start; on a named volume, so tokens already out and the published
    keys survive a restart, a new image and `down` without -v."""
    console = services["console"]
    key_file = environment(console)["CONSOLE_SIGNING_KEY_FILE"]
    key_dir = key_file.rsplit("/", 1)[0]
    assert key_dir.startswith("/app/var/"), key_dir
    assert f"console-keys:{key_dir}" in console["volumes"]
    assert "console-keys" in compose["volumes"]
    dockerfile = (ROOT / console["build"]["context"] / console["build"]["dockerfile"]).read_text()
    instructions = dockerfile_instructions(dockerfile)
    run = " ".join(args for op, args in instructions if op == "RUN")
    # Made in the image and given to its user: the fresh volume copies that ownership.
    assert f"mkdir -p {key_dir}" in run and "chown -R minhbach /app/var" in run
    assert ("USER", "minhbach") in instructions
    # The image's default command is the compose one, but for the access log.
    (cmd,) = [json.loads(args) for op, args in instructions if op == "CMD"]
    before, argv = split_command(console["command"])
    assert split_command(cmd)[0] == before
    assert split_command(cmd)[1] == [a for a in argv if a != "--no-access-log"] + ["--proxy-headers"]


def test_nginx_portal_config() -> None:
    conf = PORTAL_CONF.read_text(encoding="utf-8")
    directives = {
        "listen 8080",
        "root /srv;",
        "location /portal/",
        "charset utf-8;",
        "gzip on;",
        "index index.html;",
        "expires $portal_expires;",
        'add_header X-Content-Type-Options "nosniff" always;',
        "add_header Content-Security-Policy",
        "location = /healthz",
        # the pages' public calls, same origin: the hotline form, subscriptions, the kiosk
        "location /v1/public/tickets {",
        "proxy_pass $hotline_api;",
        # upstreams looked up again by name (a restarted container's new address)
        "resolver 127.0.0.11 valid=10s",
        "set $hotline_api http://hotline:8003;",
        "set $notifier_api http://notifier:8004;",
        "set $search_api http://notifier-search:8006;",
        "set $content_api http://content:8002;",
        "set $console_app http://console:8005;",
        "location /v1/public/subscriptions {",
        "location /center/ {",
        "proxy_pass $notifier_api;",
        "proxy_buffering off;",
        # the pictures the pages show, same origin, reads only
        "location /v1/attachments/ {",
        "limit_except GET {",
        "proxy_pass $content_api;",
        # the client's address from the connection, never appended to the client's header
        "proxy_set_header X-Forwarded-For $remote_addr;",
        # a body only where a location allows one; open connections per client capped
        "client_max_body_size 1k;",
        "limit_conn_zone $binary_remote_addr zone=per_client:10m;",
        # the staff console, its /console prefix passed on as it is (no URI part)
        "location /console/ {",
        "proxy_pass $console_app;",
    }
    missing = {d for d in directives if d not in conf}
    assert not missing
    assert "$proxy_add_x_forwarded_for" not in conf
    assert not re.search(r"proxy_pass http://", conf), "an upstream named once would go stale"
    assert conf.count("{") == conf.count("}")
    # Security headers at server level are dropped by any location with its own add_header.
    code = re.sub(r"#.*", "", conf)
    locations = re.findall(r"^\s*location\b[^{]*\{[^}]*\}", code, flags=re.MULTILINE)
    assert len(locations) >= 4 and not any("add_header" in loc for loc in locations)


def test_public_links_and_rate_limits_go_through_nginx(
    services: dict[str, dict[str, Any]], compose: dict[str, Any]
) -> None:
    """The pages' CSP allows 'self' only: the form, the kiosk and e-mail links use nginx's origin,
    and the APIs behind it read the client's address from X-Forwarded-For."""
    notifier = environment(services["notifier"])
    assert notifier["NOTIFIER_PUBLIC_URL"] == notifier["NOTIFIER_HOTLINE_PUBLIC_URL"]
    assert notifier["NOTIFIER_PUBLIC_URL"].endswith("localhost:8080}")
    # X-Forwarded-For is believed from nginx's fixed address alone, never from anyone.
    nginx_ip = services["nginx"]["networks"]["default"]["ipv4_address"]
    for name in ("hotline", "notifier", "console"):
        assert environment(services[name]).get("FORWARDED_ALLOW_IPS") == nginx_ip, name
    pool = compose["networks"]["default"]["ipam"]["config"][0]
    address = ipaddress.ip_address(expand(nginx_ip, {}))
    assert address in ipaddress.ip_network(expand(pool["subnet"], {}))
    assert address not in ipaddress.ip_network(expand(pool["ip_range"], {}))  # never handed out
    proxied = {"notifier", "hotline", "content", "console", "notifier-search"}
    assert proxied <= set(services["nginx"]["depends_on"])


def test_the_apis_are_reached_from_the_host_only_the_public_through_nginx(
    services: dict[str, dict[str, Any]],
) -> None:
    loopback_only = ("procedures", "content", "hotline", "notifier", "console", "notifier-search", "flower")
    for name in (*loopback_only, "prometheus", "alertmanager"):
        for port in services[name].get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert services["nginx"]["ports"] == ["${MB_PUBLIC_PORT:-8080}:8080"]
