"""The monitoring in docker-compose.yml, checked statically (no Docker engine needed).

Prometheus scrapes every server of the compose file on its own port, and Flower's, and
sends alerts to Alertmanager; both run from pinned official images that a mirror or the
live test's stand-ins replace (MB_*_IMAGE), with explicit entrypoints so both behave the
same, and publish on the host's loopback only. The promtool and amtool checks of the
configuration itself: tests/commands/test_alert_rules.py.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS_YML = ROOT / "deploy" / "prometheus" / "prometheus.yml"
STANDINS = Path(__file__).parent / "standins"
LIVE_TEST = Path(__file__).parent / "test_live.py"

# What Prometheus scrapes: compose service -> its port.
SCRAPED = {
    "procedures": 8001,
    "content": 8002,
    "hotline": 8003,
    "notifier": 8004,
    "console": 8005,
    "notifier-search": 8006,
    "flower": 5555,
    "alertmanager": 9093,
}
MONITORING = {
    # service: (image variable, official image, port, data directory, configuration mount)
    "prometheus": (
        "MB_PROMETHEUS_IMAGE",
        "prom/prometheus:v2.53.2",
        9090,
        "/prometheus",
        "./deploy/prometheus:/etc/prometheus:ro",
    ),
    "alertmanager": (
        "MB_ALERTMANAGER_IMAGE",
        "prom/alertmanager:v0.27.0",
        9093,
        "/alertmanager",
        "./deploy/alertmanager:/etc/alertmanager/minhbach:ro",
    ),
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def flags(argv: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in argv)


@pytest.mark.parametrize("name", sorted(MONITORING))
def test_monitoring_services(compose: dict[str, Any], services: dict[str, dict[str, Any]], name: str) -> None:
    variable, official, port, data, config_mount = MONITORING[name]
    service = services[name]
    assert service["image"] == f"${{{variable}:-{official}}}"
    # The official image's entrypoint, stated: a mirror's or a stand-in's runs the same.
    assert service["entrypoint"][-1] == f"/bin/{name}"
    assert isinstance(service["command"], list) and all(a.startswith("--") for a in service["command"])
    assert flags(service["command"])["web.listen-address"] == f":{port}"
    volume = f"{name}-data"
    assert service["volumes"] == [config_mount, f"{volume}:{data}"]
    assert volume in compose["volumes"]
    # No sign-in on either: the host's loopback only.
    assert service["ports"] == [f"127.0.0.1:${{MB_{name.upper()}_PORT:-{port}}}:{port}"]
    # The images have busybox's wget (the stand-ins Debian's); no curl, no python.
    assert service["healthcheck"]["test"] == [
        "CMD",
        "wget",
        "-q",
        "-O",
        "/dev/null",
        f"http://127.0.0.1:{port}/-/ready",
    ]
    assert service["restart"] == "unless-stopped"
    # It watches the system: it must start, and stay, whether or not the system is healthy.
    assert set(service.get("depends_on", {})) <= set(MONITORING)


def test_prometheus_keeps_its_data_and_reads_the_mounted_configuration(
    services: dict[str, dict[str, Any]],
) -> None:
    prometheus = flags(services["prometheus"]["command"])
    assert prometheus["config.file"] == "/etc/prometheus/prometheus.yml"
    assert prometheus["storage.tsdb.path"] == "/prometheus"
    assert services["prometheus"]["depends_on"] == {"alertmanager": {"condition": "service_healthy"}}


def test_alertmanager_renders_its_configuration_before_it_starts(services: dict[str, dict[str, Any]]) -> None:
    alertmanager = services["alertmanager"]
    shell, script, binary = alertmanager["entrypoint"]
    assert (shell, binary) == ("/bin/sh", "/bin/alertmanager")
    host, container = alertmanager["volumes"][0].removesuffix(":ro").split(":")
    assert script.startswith(f"{container}/")
    assert (ROOT / host / script.removeprefix(f"{container}/")).is_file()
    command = flags(alertmanager["command"])
    env = alertmanager["environment"]
    # render.sh writes where Alertmanager reads: its data directory, writable by its user.
    assert env["ALERTMANAGER_CONFIG"] == command["config.file"] == "/alertmanager/alertmanager.yml"
    assert command["storage.path"] == "/alertmanager"
    assert command["cluster.listen-address"] == "", "one instance: no gossip"
    # The notifier's relay, the same variables the notifier reads.
    notifier = services["notifier"]["environment"]
    for key in ("HOST", "PORT", "USER", "PASSWORD", "STARTTLS"):
        variable = f"NOTIFIER_SMTP_{key}"
        assert env[variable] == notifier[variable] and env[variable].startswith(f"${{{variable}:-"), variable
    assert env["MB_ALERT_EMAIL_TO"].startswith("${MB_ALERT_EMAIL_TO:-")
    assert env["MB_ALERT_EMAIL_FROM"].startswith("${MB_ALERT_EMAIL_FROM:-")


def test_prometheus_scrapes_every_server_on_the_compose_network(services: dict[str, dict[str, Any]]) -> None:
    config = yaml.safe_load(PROMETHEUS_YML.read_text(encoding="utf-8"))
    assert config["global"]["scrape_interval"] == "15s"
    targets = {
        job["job_name"]: target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert targets == {
        **{name: f"{name}:{port}" for name, port in SCRAPED.items()},
        "prometheus": "127.0.0.1:9090",
    }
    for name, port in SCRAPED.items():
        # Each listens on that port in its container (the servers' own command says so).
        command = services[name].get("command") or services[name]["entrypoint"]
        argv = command if isinstance(command, list) else shlex.split(command)
        assert re.search(rf"(--port[ =]|--web.listen-address=:){port}\b", " ".join(argv)), name
    (alerting,) = config["alerting"]["alertmanagers"]
    assert alerting["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    assert all((PROMETHEUS_YML.parent / f).is_file() for f in config["rule_files"])


def test_every_pulled_image_has_a_stand_in_for_the_live_test() -> None:
    """build.sh builds a stand-in, from Debian's packages, of each image compose pulls."""
    build = (STANDINS / "build.sh").read_text(encoding="utf-8")
    variables = dict(re.findall(r"\[(\w+)\]=(MB_\w+_IMAGE)", build))
    (names,) = re.findall(r"^names=\((.*)\)$", build, re.MULTILINE)
    assert names.split() == list(variables)
    # The images services run, and the base of the ones compose builds (MB_PYTHON_IMAGE).
    pulled = set(re.findall(r"\$\{(MB_\w+_IMAGE):-", COMPOSE.read_text(encoding="utf-8")))
    assert pulled == set(variables.values())
    for name in variables:
        assert (STANDINS / f"{name}.Dockerfile").is_file(), name
    for name in MONITORING:
        dockerfile = (STANDINS / f"{name}.Dockerfile").read_text(encoding="utf-8")
        # As the official image: its user, a writable data directory, the tools compose uses.
        assert "\nUSER nobody\n" in dockerfile, name
        assert f"chown -R nobody:nogroup /{name}" in dockerfile, name
        assert "wget" in dockerfile and f'ENTRYPOINT ["/bin/{name}"]' in dockerfile, name


def test_the_live_test_moves_every_published_port(compose: dict[str, Any]) -> None:
    """Each on a free port of its own, so it runs beside a real deployment of the same checkout."""
    published = set(re.findall(r"\$\{(MB_\w+_PORT):-", COMPOSE.read_text(encoding="utf-8")))
    moved = set(re.findall(r'"(MB_\w+_PORT)": \d+', LIVE_TEST.read_text(encoding="utf-8")))
    assert published == moved
