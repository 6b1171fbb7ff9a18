"""docker-compose.yml agrees with the code: modules exist, env vars are settings, ports match."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from services.agencies.config import AgenciesSettings
from services.intake.config import IntakeSettings
from services.router.config import RouterSettings
from services.tracker.config import TrackerSettings
from services.triage.config import TriageSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"intake": IntakeSettings, "triage": TriageSettings, "router": RouterSettings,
            "tracker": TrackerSettings, "agencies": AgenciesSettings}
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_names(settings_class) -> set[str]:
    return {f"TIPLINE_{name.upper()}" for name in settings_class.model_fields}


def test_every_service_of_the_code_is_in_the_compose_file():
    assert set(SETTINGS) <= set(COMPOSE["services"])
    assert "redis" in COMPOSE["services"]


def test_the_compose_redis_keeps_memory_as_our_own_redis_does():
    from tipline.stack import MEMORY_SETTINGS

    command = COMPOSE["services"]["redis"]["command"]
    pairs = list(zip(MEMORY_SETTINGS[::2], MEMORY_SETTINGS[1::2], strict=True))
    assert pairs and all(command[command.index(flag) + 1] == value for flag, value in pairs)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_command_runs_a_module_that_exists(name):
    command = COMPOSE["services"][name]["command"]
    assert command[:2] == ["python", "-m"]
    assert command[2] == f"services.{name}"
    assert importlib.util.find_spec(f"{command[2]}.__main__") is not None


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_environment_variable_is_a_real_setting(name):
    env = COMPOSE["services"][name]["environment"]
    unknown = set(env) - env_names(SETTINGS[name])
    assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"


@pytest.mark.parametrize("name", list(SETTINGS))
def test_ports_match_the_service_settings(name):
    service = COMPOSE["services"][name]
    port_field = f"{name}_port"
    default = SETTINGS[name].model_fields[port_field].default
    configured = int(service["environment"].get(f"TIPLINE_{port_field.upper()}", default))
    assert configured == default  # the documented port is the code's default
    assert service["ports"] == [f"${{TIPLINE_{name.upper()}_HOST_PORT:-{configured}}}:{configured}"]
    assert f":{configured}/readyz" in " ".join(service["healthcheck"]["test"])


def test_redis_keeps_an_append_only_file_and_services_wait_for_it():
    redis = COMPOSE["services"]["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    for name in SETTINGS:
        assert COMPOSE["services"][name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert COMPOSE["services"][name]["restart"] == "unless-stopped"


def test_the_redis_url_points_at_the_compose_redis():
    for name in SETTINGS:
        assert COMPOSE["services"][name]["environment"]["TIPLINE_REDIS_URL"].startswith("redis://redis:")


def test_redis_asks_for_a_password_and_every_service_has_it():
    redis = COMPOSE["services"]["redis"]
    password = redis["command"][redis["command"].index("--requirepass") + 1]
    assert password.startswith("${TIPLINE_REDIS_PASSWORD:-")
    assert password in redis["healthcheck"]["test"]
    for name in SETTINGS:
        assert COMPOSE["services"][name]["environment"]["TIPLINE_REDIS_PASSWORD"] == password


OBSERVABILITY = ROOT / "observability"


def test_the_observability_profile_scrapes_every_service():
    profile = {name for name, s in COMPOSE["services"].items()
               if "observability" in s.get("profiles", [])}
    assert profile == {"prometheus", "grafana", "jaeger"}
    scraped = {target for job in yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())[
        "scrape_configs"] for config in job["static_configs"] for target in config["targets"]}
    ports = {name: SETTINGS[name].model_fields[f"{name}_port"].default for name in SETTINGS}
    assert scraped == {f"{name}:{port}" for name, port in ports.items()}
    for name in SETTINGS:
        env = COMPOSE["services"][name]["environment"]
        assert env["TIPLINE_OTLP_ENDPOINT"].startswith("http://jaeger:4318/")


def _exported_names() -> set[str]:
    from prometheus_client import Counter, Histogram

    from services.tracker.app import bootstrap
    from services.tracker.config import TrackerSettings

    # the tracker as it is wired (never started): every family its metrics register
    metrics = bootstrap(TrackerSettings(redis_url="redis://127.0.0.1:1/0")).service.metrics
    names = set()
    for collector in list(metrics.registry._collector_to_names):  # every family registered
        for family in collector.describe():
            if isinstance(collector, Counter):
                names.add(family.name + "_total")
            elif isinstance(collector, Histogram):
                names |= {family.name + s for s in ("_bucket", "_count", "_sum")}
            else:
                names.add(family.name)
    return names


def test_the_grafana_dashboard_queries_only_metrics_the_services_export():
    import json
    import re

    dashboard = json.loads((OBSERVABILITY / "grafana" / "dashboards" / "tipline.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"tipline_[a-z_]+", target["expr"])}
    assert queried and queried <= _exported_names(), sorted(queried - _exported_names())


def test_compose_accepts_the_file_with_the_observability_profile():
    import shutil
    import subprocess

    client = shutil.which("docker-compose")
    if client is None:
        pytest.skip("docker-compose is not installed: the compose file's syntax is not checked")
    result = subprocess.run([client, "--profile", "observability", "config", "-q"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


CLUSTER = yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text())


def test_the_cluster_file_puts_every_service_on_the_cluster_its_join_makes():
    from shared.connect import cluster_nodes

    nodes = {name for name, s in CLUSTER["services"].items()
             if "--cluster-enabled" in s.get("command", [])}
    assert len(nodes) == 6 and "redis" in nodes
    join = CLUSTER["services"]["redis-cluster"]
    assert join["command"][:3] == ["python", "-m", "tipline.cluster"]
    assert {spec.split(":")[0] for spec in join["command"][3:]} == nodes
    assert set(join["depends_on"]) == nodes
    for name in SETTINGS:
        service = CLUSTER["services"][name]
        hosts, _, _ = cluster_nodes(service["environment"]["TIPLINE_REDIS_URL"])
        assert {host for host, _ in hosts} <= nodes
        assert service["depends_on"]["redis-cluster"]["condition"] == (
            "service_completed_successfully")


def test_the_cluster_nodes_keep_memory_as_our_own_redis_does():
    from tipline.stack import MEMORY_SETTINGS

    command = CLUSTER["services"]["redis"]["command"]
    pairs = list(zip(MEMORY_SETTINGS[::2], MEMORY_SETTINGS[1::2], strict=True))
    assert all(command[command.index(flag) + 1] == value for flag, value in pairs)


def test_compose_accepts_the_cluster_file_over_the_main_one():
    import shutil
    import subprocess

    client = shutil.which("docker-compose")
    if client is None:
        pytest.skip("docker-compose is not installed: the compose file's syntax is not checked")
    result = subprocess.run([client, "-f", "docker-compose.yml", "-f",
                             "docker-compose.cluster.yml", "config"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    merged = yaml.safe_load(result.stdout)["services"]
    assert merged["intake"]["environment"]["TIPLINE_REDIS_URL"].startswith("redis+cluster://")
    assert set(merged["intake"]["depends_on"]) == {"redis", "redis-cluster"}
