"""The monitoring's configuration, checked by the tools that run it (issue 13).

Prometheus's (deploy/prometheus) with `promtool`: the configuration and the rules are
valid, and the rules' unit tests (alerts_test.yml) pass. Then each alert is broken on
purpose, one way at a time (its threshold moved either side, its `for` dropped or
doubled, the alert deleted): the same unit tests must fail, so they pin every alert
down at its boundaries instead of merely running it. Every alert names its runbook,
a heading of docs/operations.md, and has a firing and a silent case.

Alertmanager's (deploy/alertmanager): render.sh fills the template from the
environment as the container does at start, and `amtool check-config` takes the result,
whatever characters the SMTP password holds.

promtool and amtool are Debian's `prometheus` and `prometheus-alertmanager`, which
scripts/install-system-deps.sh installs (make test).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from minhbach_testing.plugin import REPO_ROOT

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
ALERTMANAGER_DIR = REPO_ROOT / "deploy" / "alertmanager"
RENDER = ALERTMANAGER_DIR / "render.sh"
OPERATIONS = REPO_ROOT / "docs" / "operations.md"
SEVERITIES = {"critical", "warning"}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"no {name}: scripts/install-system-deps.sh installs it (make test)", pytrace=False)
    return found


def run(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def alert_rules(groups: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Every alerting rule of alerts.yml by name."""
    groups = groups or yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    rules = [rule for group in groups["groups"] for rule in group["rules"] if "alert" in rule]
    by_name = {rule["alert"]: rule for rule in rules}
    assert len(by_name) == len(rules), "two alerts share a name"
    return by_name


# --- valid, and its unit tests pass --------------------------------------------------------


def test_promtool_takes_the_configuration_and_the_rules() -> None:
    promtool = tool("promtool")
    config = run(promtool, "check", "config", "prometheus.yml", cwd=PROMETHEUS_DIR)
    assert config.returncode == 0, config.stdout + config.stderr
    # The rules it names are the ones tested here.
    assert yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())["rule_files"] == [ALERTS.name]
    rules = run(promtool, "check", "rules", ALERTS.name, cwd=PROMETHEUS_DIR)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in rules.stdout


def test_the_rules_unit_tests_pass() -> None:
    tested = run(tool("promtool"), "test", "rules", ALERTS_TEST.name, cwd=PROMETHEUS_DIR)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert yaml.safe_load(ALERTS_TEST.read_text(encoding="utf-8"))["rule_files"] == [ALERTS.name]


def test_every_alert_fires_in_a_test_case_and_stays_silent_in_another() -> None:
    fires: set[str] = set()
    silent: set[str] = set()
    for case in yaml.safe_load(ALERTS_TEST.read_text(encoding="utf-8"))["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = set(alert_rules())
    assert alerts - fires == set(), "never seen firing"
    assert alerts - silent == set(), "never seen silent"
    assert (fires | silent) - alerts == set(), "tests of alerts alerts.yml no longer has"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"`|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_every_alert_has_a_severity_a_summary_and_a_runbook_in_operations_md() -> None:
    runbook = OPERATIONS.read_text(encoding="utf-8")
    prose = re.sub(r"^```.*?^```", "", runbook, flags=re.MULTILINE | re.DOTALL)  # not a shell comment
    headings = re.findall(r"^#{1,6} +(.+?) *#*$", prose, re.MULTILINE)
    anchors = {github_anchor(h) for h in headings}
    assert not {a for a in re.findall(r"\]\(#([^)]+)\)", runbook) if a not in anchors}, "links to nowhere"
    for name, rule in alert_rules().items():
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert {"summary", "description", "runbook"} <= annotations.keys(), name
        page, _, anchor = annotations["runbook"].partition("#")
        assert page == "docs/operations.md", name
        assert anchor in anchors, f"{name}: no heading of docs/operations.md has the anchor #{anchor}"
    # Anything else of the deployment that points into the runbook points at a heading.
    for path in [*PROMETHEUS_DIR.iterdir(), *ALERTMANAGER_DIR.iterdir(), REPO_ROOT / "docker-compose.yml"]:
        for anchor in re.findall(r"operations\.md#([\w-]+)", path.read_text(encoding="utf-8")):
            assert anchor in anchors, f"{path.name}: docs/operations.md has no #{anchor}"


# --- a broken rule fails the unit tests ------------------------------------------------------

Mutation = tuple[str, str] | Callable[[str], str]
# For each alert, ways to break its expression: (text, replacement) or a function of it.
# Moving a threshold either way must be caught by a boundary case (301 s fires, 300 s is
# silent), a label matcher widened by a series it must ignore.
EXPR_MUTATIONS: dict[str, list[Mutation]] = {
    "ChannelBehind": [("> 300", "> 3000"), ("> 300", "> 150")],
    "DeadDeliveries": [("> 0", "> 1"), ("> 0", ">= 0")],
    "DisclosureLagHigh": [
        ("> 60", "> 600"),
        ("> 60", "> 30"),
        ('quantile="0.99"', 'quantile=~"0.5|0.99"'),
    ],
    "ChannelDriftRepaired": [("> 0", ">= 0"), ("[15m]", "[5m]")],
    "EventsMissed": [("> 0", ">= 0"), ("[15m]", "[5m]")],
    "ReconcileNotRunning": [("> 600", "> 6000"), ("> 600", "> 300")],
    "OutboxStuck": [("> 60", "> 600"), ("> 60", "> 30")],
    "QueueGrowing": [
        ("[10m]", "[5m]"),
        ("min_over_time(mb_queue_depth[10m]) > 0", "mb_queue_depth > 0"),
        ("deriv(mb_queue_depth[10m]) > 0", "deriv(mb_queue_depth[10m]) >= 0"),
    ],
    "QueueWithoutConsumer": [("== 0", "== 1")],
    "TargetDown": [("== 0", "== 1")],
    "ServerErrors": [
        ('"5.."', '"[45].."'),
        ("> 0", "> 1"),
        # Without its second half: a route's first 5xx goes unseen.
        lambda expr: expr.split(" or ", 1)[0],
    ],
    "RedisDown": [("== 0", "== 1")],
    "DatabaseDown": [("== 0", "== 1")],
}


def mutations() -> list[Any]:
    cases = []
    for name, rule in sorted(alert_rules().items()):
        cases.append(pytest.param(name, "deleted", None, id=f"{name}-deleted"))
        for i, mutation in enumerate(EXPR_MUTATIONS.get(name, [])):
            label = f"{mutation[0]!r}->{mutation[1]!r}" if isinstance(mutation, tuple) else f"expr{i}"
            cases.append(pytest.param(name, "expr", mutation, id=f"{name}-{label}"))
        if "for" in rule:
            cases.append(pytest.param(name, "for", "0s", id=f"{name}-for-dropped"))
            cases.append(pytest.param(name, "for", "double", id=f"{name}-for-doubled"))
    return cases


def test_every_alert_has_ways_to_break_it() -> None:
    assert set(EXPR_MUTATIONS) == set(alert_rules())


def break_rule(groups: dict[str, Any], name: str, how: str, mutation: Any) -> None:
    for group in groups["groups"]:
        for i, rule in enumerate(group["rules"]):
            if rule.get("alert") != name:
                continue
            if how == "deleted":
                del group["rules"][i]
            elif how == "for":
                value = rule["for"]
                if mutation == "double":
                    number, unit = re.fullmatch(r"(\d+)([smh])", value).groups()  # type: ignore[union-attr]
                    mutation = f"{2 * int(number)}{unit}"
                rule["for"] = mutation
            elif isinstance(mutation, tuple):
                old, new = mutation
                assert old in rule["expr"], f"{name}: {old!r} is not in its expression any more"
                rule["expr"] = rule["expr"].replace(old, new)
            else:
                broken = mutation(rule["expr"])
                assert broken != rule["expr"], f"{name}: the mutation changes nothing"
                rule["expr"] = broken
            return
    raise AssertionError(f"no alert {name}")


def unit_tests_in(folder: Path, groups: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    (folder / ALERTS.name).write_text(
        yaml.safe_dump(groups, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8"
    )
    shutil.copy(ALERTS_TEST, folder / ALERTS_TEST.name)
    return run(tool("promtool"), "test", "rules", ALERTS_TEST.name, cwd=folder)


def test_the_rules_copied_unbroken_still_pass(tmp_path: Path) -> None:
    """What the mutations below start from: the rules as re-written by yaml pass as they are."""
    copied = unit_tests_in(tmp_path, yaml.safe_load(ALERTS.read_text(encoding="utf-8")))
    assert copied.returncode == 0, copied.stdout + copied.stderr


@pytest.mark.parametrize(("name", "how", "mutation"), mutations())
def test_a_broken_alert_fails_the_unit_tests(tmp_path: Path, name: str, how: str, mutation: Any) -> None:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    break_rule(groups, name, how, mutation)
    tested = unit_tests_in(tmp_path, groups)
    assert tested.returncode != 0, f"{name} {how} {mutation!r}: alerts_test.yml still passes"
    if how != "deleted":
        # Failed on this alert, not on a rule the mutation made invalid.
        assert f"alertname: {name}," in tested.stdout + tested.stderr, tested.stdout + tested.stderr


# --- Alertmanager: the configuration rendered at start ---------------------------------------

SMTP = {
    "NOTIFIER_SMTP_HOST": "smtp.soxaydung.thaibinh.gov.vn",
    "NOTIFIER_SMTP_PORT": "587",
    "NOTIFIER_SMTP_USER": "canhbao@soxaydung.thaibinh.gov.vn",
    # Each character the template's quoting or sed could trip on.
    "NOTIFIER_SMTP_PASSWORD": "p'a\"s|s&w\\o/r$d #: {x} @SMTP_HOST@ @EMAIL_TO@",
    "NOTIFIER_SMTP_STARTTLS": "true",
    "MB_ALERT_EMAIL_TO": "vanhanh@stttt.thaibinh.gov.vn, truc.ca@stttt.thaibinh.gov.vn",
    "MB_ALERT_EMAIL_FROM": "Minh Bạch <no-reply@soxaydung.thaibinh.gov.vn>",
}


def render(tmp_path: Path, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    """render.sh as the container runs it (then `command`), its result in tmp_path."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_SMTP_", "MB_ALERT_"))}
    environment = {**clean, **env, "ALERTMANAGER_CONFIG": str(tmp_path / "alertmanager.yml")}
    return run("sh", str(RENDER), *command, cwd=tmp_path, env=environment)


def test_the_rendered_alertmanager_configuration_mails_every_alert_to_the_operators(
    tmp_path: Path,
) -> None:
    config = tmp_path / "alertmanager.yml"
    checked = render(tmp_path, SMTP, tool("amtool"), "check-config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout
    assert config.stat().st_mode & 0o077 == 0, "the SMTP password is in it: its owner's only"
    rendered = yaml.safe_load(config.read_text(encoding="utf-8"))
    assert rendered["global"] | {"resolve_timeout": None} == {
        "smtp_smarthost": "smtp.soxaydung.thaibinh.gov.vn:587",
        "smtp_from": SMTP["MB_ALERT_EMAIL_FROM"],
        "smtp_auth_username": SMTP["NOTIFIER_SMTP_USER"],
        "smtp_auth_password": SMTP["NOTIFIER_SMTP_PASSWORD"],
        "smtp_require_tls": True,
        "resolve_timeout": None,
    }
    (receiver,) = rendered["receivers"]
    assert receiver["email_configs"] == [{"to": SMTP["MB_ALERT_EMAIL_TO"], "send_resolved": True}]
    # Every alert, whatever its labels, reaches that receiver.
    for name, rule in alert_rules().items():
        routed = run(
            tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"alertname={name}",
            f"severity={rule['labels']['severity']}",
            cwd=tmp_path,
        )
        assert routed.returncode == 0 and routed.stdout.split() == [receiver["name"]], routed.stdout


def test_the_notifiers_defaults_render_too(tmp_path: Path) -> None:
    """Only the recipients and the sender set: the notifier's own defaults for the relay."""
    env = {k: SMTP[k] for k in ("MB_ALERT_EMAIL_TO", "MB_ALERT_EMAIL_FROM")}
    checked = render(tmp_path, env, tool("amtool"), "check-config", str(tmp_path / "alertmanager.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rendered = yaml.safe_load((tmp_path / "alertmanager.yml").read_text(encoding="utf-8"))["global"]
    assert rendered["smtp_smarthost"] == "127.0.0.1:1025"  # services/notifier/notifier/settings.py
    assert rendered["smtp_require_tls"] is False
    assert rendered["smtp_auth_username"] == rendered["smtp_auth_password"] == ""


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("NOTIFIER_SMTP_STARTTLS", "maybe", "NOTIFIER_SMTP_STARTTLS must be true or false"),
        ("NOTIFIER_SMTP_PORT", "25 ", "NOTIFIER_SMTP_PORT must be a number"),
        ("NOTIFIER_SMTP_PASSWORD", "two\nlines", "NOTIFIER_SMTP_PASSWORD holds a line break"),
        ("MB_ALERT_EMAIL_TO", "", "MB_ALERT_EMAIL_TO names no recipient"),
    ],
)
def test_a_setting_it_cannot_use_stops_it_with_the_reason(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    ran = render(tmp_path, {**SMTP, variable: value}, "true")
    assert ran.returncode != 0 and says in ran.stderr, ran.stderr
    assert not (tmp_path / "alertmanager.yml").exists()
