"""The deployment files in deploy/ agree with the code: commands, databases, ports, metric and queue names."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import promql
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from minqing import config, metrics, topology

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SERVICES = ("intake", "routing", "feedback", "points", "accounts")  # the backend services the deployment runs
PROCESSES = (*SERVICES, "gateway")
SERVE = ["python", "-m", "minqing.serve"]


# --- helpers ---------------------------------------------------------------------------------------------------
def metrics_port(service: str) -> int:
    """minqing.config's scheme: metrics_port_base + 1 + the service's place in SERVICES (points comes last);
    the gateway's internal metrics port is the base itself."""
    if service == "gateway":
        return int(config.DEFAULTS["metrics_port_base"])
    order = list(config.SERVICES) + [s for s in SERVICES if s not in config.SERVICES]
    return int(config.DEFAULTS["metrics_port_base"]) + 1 + order.index(service)


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def init_sql() -> str:
    return (DEPLOY / "postgres" / "init-databases.sql").read_text()


def exposition_series() -> dict[str, set[str]]:
    """Series name → label names, from the exposition every process serves (minqing.metrics.exposition()).

    A labelled metric nobody in this test process has touched has no sample to show its labels, so those come
    from the same registry's definitions."""
    body, _ = metrics.exposition()
    series = promql.exposed(body.decode())
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                for name in promql.series_names(family):
                    series[name] = set(value._labelnames) | ({"le"} if name.endswith("_bucket") else set())
    return series


def known_metric_names() -> set[str]:
    return set(exposition_series())


promql_metric_names = promql.promql_metric_names


def assert_known_series(expr: str, where: str) -> None:
    assert promql.mismatches(expr, where, exposition_series()) == []


def test_promql_name_extraction():
    expr = 'histogram_quantile(0.99, sum by (le, service) (rate(minqing_rpc_latency_seconds_bucket{a="b"}[5m]))) * 1e3'
    assert promql_metric_names(expr) == {"minqing_rpc_latency_seconds_bucket"}
    assert "minqing_rpc_calls_total" in known_metric_names()
    assert "minqing_outbox_lag_seconds" in known_metric_names()
    labelled = expr + ' / max by (service) (x{outcome!="ok"})'
    assert promql.promql_label_names(labelled) == {"a", "le", "service", "outcome"}
    # a name or a label the exposition does not have is reported
    series = exposition_series()
    assert promql.mismatches("max by (queue) (minqing_outbox_pending)", "t", series) == [
        "t: label 'queue' is on none of ['minqing_outbox_pending'] ('max by (queue) (minqing_outbox_pending)')"
    ]
    assert promql.mismatches("minqing_outbox_pendings", "t", series)


def test_the_deployment_covers_every_service_of_the_code():
    assert set(SERVICES) >= set(config.SERVICES)
    assert set(PROCESSES) >= set(topology.SERVICE_CLASSES)


def test_metrics_port_scheme_is_minqing_config_s(monkeypatch):
    for name in ("MINQING_CONFIG", "MINQING_HTTP_HOST", "MINQING_METRICS_PORT_BASE"):
        monkeypatch.delenv(name, raising=False)
    for service in config.SERVICES:
        monkeypatch.delenv(f"MINQING_{service.upper()}_METRICS_PORT", raising=False)
        assert config.metrics_address(service) == f"127.0.0.1:{metrics_port(service)}"
    assert [metrics_port(s) for s in ("intake", "routing", "feedback")] == [9101, 9102, 9103]


# --- docker compose --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(DEPLOY / "docker-compose.yml")


@pytest.fixture(scope="module")
def shared_env() -> dict[str, str]:
    return env_file(DEPLOY / "minqing.env")


def depends(service: dict) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in service["depends_on"].items()}


@pytest.mark.parametrize("name", PROCESSES)
def test_compose_runs_each_process_from_the_one_image(compose, name):
    service = compose["services"][name]
    assert service["command"] == [*SERVE, name]
    assert service["image"] == compose["services"]["migrate"]["image"]
    assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert service["env_file"] == ["minqing.env"]
    assert depends(service)["rabbitmq"] == "service_healthy"
    assert depends(service)["postgres"] == "service_healthy"
    assert depends(service)["migrate"] == "service_completed_successfully"
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "minqing-healthcheck", name]


@pytest.mark.parametrize("name", SERVICES)
def test_compose_gives_each_service_its_own_database_only(compose, name):
    env = compose["services"][name]["environment"]
    assert [key for key in env if key.endswith("_DB_URL")] == [f"MINQING_{name.upper()}_DB_URL"]
    url = urlsplit(env[f"MINQING_{name.upper()}_DB_URL"])
    assert url.scheme == "postgresql" and url.hostname == "postgres"
    assert url.path == f"/minqing_{name}"
    # the role and password are those the init script gives that database's owner
    owner = re.search(rf"CREATE DATABASE minqing_{name} OWNER (\w+)", init_sql()).group(1)
    password = re.search(rf"CREATE ROLE {owner} LOGIN PASSWORD '([^']+)'", init_sql()).group(1)
    assert (url.username, url.password) == (owner, password)
    migrate_env = compose["services"]["migrate"]["environment"]
    assert migrate_env[f"MINQING_{name.upper()}_DB_URL"] == env[f"MINQING_{name.upper()}_DB_URL"]


def test_compose_gateway(compose, shared_env):
    gateway = compose["services"]["gateway"]
    assert not [key for key in gateway.get("environment", {}) if key.endswith("_DB_URL")]
    assert len(gateway["environment"]["MINQING_JWT_SECRET"].encode()) >= 32
    assert "8000:8000" in gateway["ports"] and shared_env["MINQING_HTTP_PORT"] == "8000"
    assert gateway["healthcheck"]["test"][-1] == "/readyz"
    for service in SERVICES:
        assert depends(gateway)[service] == "service_healthy"
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["minqing", "migrate"]
    assert migrate["restart"] == "no"
    assert depends(migrate) == {"postgres": "service_healthy"}


def test_compose_shared_settings(shared_env):
    assert shared_env["MINQING_HTTP_HOST"] == "0.0.0.0"
    for service in SERVICES:
        assert shared_env[f"MINQING_{service.upper()}_METRICS_PORT"] == str(metrics_port(service))
    assert shared_env["MINQING_METRICS_PORT_BASE"] == str(config.DEFAULTS["metrics_port_base"])
    assert not [key for key in shared_env if key.endswith(("_DB_URL", "JWT_SECRET"))], "not shared"


def test_init_script_creates_each_database():
    for service in SERVICES:
        assert re.search(rf"^CREATE DATABASE minqing_{service}\b", init_sql(), re.M), service


def test_compose_broker_and_database(compose, shared_env):
    rabbitmq = compose["services"]["rabbitmq"]
    assert rabbitmq["image"].startswith("rabbitmq:3.13-management")
    mounts = dict(volume.rsplit(":", 1)[0].split(":", 1) for volume in rabbitmq["volumes"] if volume.startswith("./"))
    assert mounts["./rabbitmq/enabled_plugins"] == "/etc/rabbitmq/enabled_plugins"
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text()
    assert re.search(r"^default_queue_type = quorum$", conf, re.M)
    path = re.search(r"^definitions.local.path = (\S+)$", conf, re.M).group(1)
    assert mounts["./rabbitmq/definitions.json"] == path
    # the services' broker user exists, with every permission on the vhost in the URI
    url = urlsplit(shared_env["MINQING_AMQP_URI"])
    definitions = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    assert {"name": url.username, "password": url.password, "tags": []} in definitions["users"]
    vhost = url.path.lstrip("/")
    assert {"user": url.username, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"} in definitions[
        "permissions"
    ]
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    assert any(v.startswith("./postgres/init-databases.sql:/docker-entrypoint-initdb.d/") for v in postgres["volumes"])


def test_image():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", dockerfile, re.M) == ["python:3.11-slim", "python:3.11-slim"]
    assert "deploy/healthcheck.py /usr/local/bin/minqing-healthcheck" in dockerfile
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    for needed in ("!pyproject.toml", "!README.md", "!minqing/", "!services/", "!gateway/", "!deploy/healthcheck.py"):
        assert needed in ignore


def _compose() -> list[str] | None:
    """`docker compose` (the v2 plugin) if the client has it, else the standalone `docker-compose`."""
    if shutil.which("docker"):
        version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
        if version.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


@pytest.mark.skipif(_compose() is None, reason="neither `docker compose` nor `docker-compose` is installed")
def test_docker_compose_config_is_valid():
    result = subprocess.run(
        [*_compose(), "-f", str(DEPLOY / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


# --- the healthcheck in the image ------------------------------------------------------------------------------
class _Answer(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802  (http.server's naming)
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def healthcheck(monkeypatch):
    spec = importlib.util.spec_from_file_location("minqing_healthcheck", DEPLOY / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("MINQING_CONFIG", "MINQING_HTTP_PORT", "MINQING_METRICS_PORT_BASE"):
        monkeypatch.delenv(name, raising=False)
    return module


def test_healthcheck_asks_the_port_the_process_listens_on(healthcheck, monkeypatch):
    monkeypatch.delenv("MINQING_INTAKE_METRICS_PORT", raising=False)
    monkeypatch.setenv("MINQING_HTTP_HOST", "0.0.0.0")
    assert healthcheck.url("intake", "/healthz") == f"http://127.0.0.1:{metrics_port('intake')}/healthz"
    assert healthcheck.url("gateway", "/readyz") == "http://127.0.0.1:8000/readyz"
    monkeypatch.setenv("MINQING_POINTS_METRICS_PORT", "9104")
    assert healthcheck.url("points", "/healthz") == "http://127.0.0.1:9104/healthz"


@pytest.mark.parametrize("status, code", [(200, 0), (503, 1)])
def test_healthcheck_exit_code(healthcheck, monkeypatch, status, code):
    handler = type("Handler", (_Answer,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("MINQING_ROUTING_METRICS_PORT", str(server.server_address[1]))
        assert healthcheck.main(["minqing-healthcheck", "routing"]) == code
    finally:
        server.shutdown()
        server.server_close()


# --- prometheus and grafana ------------------------------------------------------------------------------------
def test_prometheus_scrapes_every_process_and_the_broker(compose):
    scrape = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")["scrape_configs"]
    targets = {t for job in scrape for group in job.get("static_configs", []) for t in group["targets"]}
    for service in SERVICES:
        assert f"{service}:{metrics_port(service)}" in targets
    assert f"gateway:{metrics_port('gateway')}" in targets  # the internal port, not the API's
    assert f"gateway:{config.DEFAULTS['http_port']}" not in targets
    assert "rabbitmq:15692" in targets
    detailed = [job for job in scrape if job.get("metrics_path") == "/metrics/detailed"]
    assert detailed and "queue_coarse_metrics" in detailed[0]["params"]["family"]
    assert detailed[0]["params"]["vhost"] == ["minqing"]
    assert "./prometheus:/etc/prometheus:ro" in compose["services"]["prometheus"]["volumes"]


def test_alert_rules_use_real_metrics():
    rules = load_yaml(DEPLOY / "prometheus" / "alerts.yml")
    assert load_yaml(DEPLOY / "prometheus" / "prometheus.yml")["rule_files"] == ["/etc/prometheus/alerts.yml"]
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert_known_series(rule["expr"], rule["alert"])


def test_an_alert_and_a_panel_report_years_on_the_statutory_holiday_fallback():
    """Adjusted working days are unknown until the notice is loaded: Prometheus says so (docs/calendar.md)."""
    rules = {r["alert"]: r for g in load_yaml(DEPLOY / "prometheus" / "alerts.yml")["groups"] for r in g["rules"]}
    rule = rules["MinqingCalendarOnStatutoryFallback"]
    assert promql.promql_metric_names(rule["expr"]) == {"minqing_calendar_fallback"}
    assert "year" in promql.promql_label_names(rule["expr"]) and "{{ $labels.year }}" in rule["annotations"]["summary"]
    assert "minqing calendar import" in rule["annotations"]["description"]
    # the rule fires on what routing exports for a year without notice, and not for a year with one
    metrics.CALENDAR_FALLBACK.clear()
    metrics.CALENDAR_FALLBACK.labels("2027").set(1)
    metrics.CALENDAR_FALLBACK.labels("2026").set(0)
    series = promql.exposed(metrics.exposition()[0].decode())
    assert series["minqing_calendar_fallback"] == {"year"}
    assert promql.mismatches(rule["expr"], rule["alert"], series) == []
    metrics.CALENDAR_FALLBACK.clear()
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "minqing.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert "max by (year) (minqing_calendar_fallback)" in exprs


def test_the_example_calendar_is_marked_as_an_example_and_loads():
    from services.routing.holidays import read_file, schedule_of
    from services.routing.schemas import CalendarIn

    path = DEPLOY / "calendar-2027.example.yaml"
    assert path.read_text(encoding="utf-8").startswith("# ILLUSTRATIVE EXAMPLE ONLY: this is NOT the State Council")
    year, body = read_file(path)
    assert year == 2027 and "EXAMPLE" in body["notice"]
    schedule = schedule_of(year, CalendarIn().load(body))  # valid: the law's days are all off
    assert len(schedule.holidays) > 13 and schedule.workdays


def test_grafana_dashboard_panels_use_real_metrics(compose):
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "minqing.json").read_text())
    datasources = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    uid = datasources[0]["uid"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    exprs = []
    for panel in panels:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert_known_series(target["expr"], panel["title"])
            exprs.append(target["expr"])
    used = set().union(*(promql_metric_names(e) for e in exprs))
    wanted = {
        "minqing_cases_registered_total",  # intake rate
        "rabbitmq_detailed_queue_messages_ready",  # queue depths
        "minqing_outbox_pending",
        "minqing_outbox_lag_seconds",
        "minqing_handler_retries_total",
        "minqing_dead_letters_total",
        "minqing_cases_overdue",
        "minqing_rpc_latency_seconds_bucket",
        "minqing_http_latency_seconds_bucket",
    }
    assert wanted <= used, wanted - used
    for metric in ("minqing_rpc_latency_seconds_bucket", "minqing_http_latency_seconds_bucket"):
        for quantile in ("0.5", "0.99"):
            assert any(f"histogram_quantile({quantile}," in e and metric in e for e in exprs), (metric, quantile)
    # the provider loads the directory compose mounts the dashboards into
    provider = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "minqing.yml")["providers"][0]
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts


# --- kubernetes ------------------------------------------------------------------------------------------------
def kustomizations() -> dict[Path, dict]:
    return {path: load_yaml(path) for path in sorted(K8S.rglob("kustomization.yaml"))}


@pytest.fixture(scope="module")
def k8s() -> list[dict]:
    docs = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for path, kustomization in kustomizations().items():  # ConfigMaps made by configMapGenerator
        for generator in kustomization.get("configMapGenerator", []):
            files = {name: (path.parent / name).read_text() for name in generator["files"]}
            docs.append(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": files}
            )
    return docs


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def test_kustomizations_list_existing_files_and_one_image():
    images = []
    for path, kustomization in kustomizations().items():
        assert kustomization["namespace"] == "minqing"
        for resource in kustomization["resources"]:
            assert (path.parent / resource).is_file(), f"{path}: {resource}"
        images.append(kustomization["images"])
    assert len(images) == 2 and images[0] == images[1], "deploy/k8s/jobs and deploy/k8s/app must run the same image"


def test_k8s_documents_are_well_formed(k8s):
    for doc in k8s:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"]
        if doc["kind"] != "Namespace" and "namespace" in doc["metadata"]:
            assert doc["metadata"]["namespace"] == "minqing"
    assert "minqing" in of_kind(k8s, "Namespace")


def pod_references(pod: dict) -> tuple[set[str], set[tuple[str, str]]]:
    """ConfigMaps and (Secret, key) pairs a pod spec refers to."""
    config_maps, secret_keys = set(), set()
    for volume in pod.get("volumes", []):
        if "configMap" in volume:
            config_maps.add(volume["configMap"]["name"])
    for container in pod["containers"]:
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                config_maps.add(source["configMapRef"]["name"])
            assert "secretRef" not in source, "secrets by key only"
        for var in container.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                secret_keys.add((ref["name"], ref["key"]))
                assert var["name"] == ref["key"]
    return config_maps, secret_keys


def assert_references_exist(k8s: list[dict], pod: dict) -> None:
    config_maps, secret_keys = pod_references(pod)
    assert config_maps <= set(of_kind(k8s, "ConfigMap")), config_maps
    secrets = of_kind(k8s, "Secret")
    for name, key in secret_keys:
        assert key in secrets[name]["stringData"], (name, key)


def container_port(container: dict, port) -> int:
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    return ports[port] if isinstance(port, str) else port


@pytest.mark.parametrize("name", PROCESSES)
def test_k8s_deployment(k8s, name):
    deployment = of_kind(k8s, "Deployment")[f"minqing-{name}"]
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    template = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    pod = template["spec"]
    assert pod["enableServiceLinks"] is False
    (container,) = pod["containers"]
    assert container["command"] == [*SERVE, name]
    port = metrics_port(name) if name != "gateway" else int(config.DEFAULTS["http_port"])
    scraped = metrics_port(name)  # the gateway serves /metrics on its internal port, not the API's
    assert [p["containerPort"] for p in container["ports"]] == sorted({port, scraped})
    probes = {kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe")}
    for probe in probes.values():
        assert container_port(container, probe["port"]) == port
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == ("/readyz" if name == "gateway" else "/healthz")
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(scraped) and annotations["prometheus.io/path"] == "/metrics"
    assert_references_exist(k8s, pod)
    secret_keys = {key for _, key in pod_references(pod)[1]}
    expected = {"MINQING_AMQP_URI", "MINQING_JWT_SECRET" if name == "gateway" else f"MINQING_{name.upper()}_DB_URL"}
    if name == "accounts":
        expected.add("MINQING_JWT_SECRET")  # it signs the tokens the gateway verifies
    assert secret_keys == expected


@pytest.mark.parametrize("name", PROCESSES)
def test_k8s_service_and_autoscaler(k8s, name):
    deployment = of_kind(k8s, "Deployment")[f"minqing-{name}"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    service = of_kind(k8s, "Service")[f"minqing-{name}"]
    assert service["spec"]["selector"].items() <= labels.items()
    for port in service["spec"]["ports"]:
        assert container_port(container, port["targetPort"]) == container["ports"][0]["containerPort"]
    hpa = of_kind(k8s, "HorizontalPodAutoscaler")[f"minqing-{name}"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"minqing-{name}"}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert of_kind(k8s, "PodDisruptionBudget")[f"minqing-{name}"]["spec"]["selector"]["matchLabels"].items() <= (
        labels.items()
    )


def test_k8s_shared_settings_are_real_settings(k8s):
    data = of_kind(k8s, "ConfigMap")["minqing-config"]["data"]
    per_service = {f"MINQING_{s.upper()}_{suffix}" for s in PROCESSES for suffix in ("METRICS_PORT", "MAX_WORKERS")}
    known = {f"MINQING_{key.upper()}" for key in config.DEFAULTS} | per_service | {"MINQING_RPC_TIMEOUT"}
    assert set(data) <= known, set(data) - known
    assert data["MINQING_HTTP_HOST"] == "0.0.0.0"
    for service in SERVICES:
        assert data[f"MINQING_{service.upper()}_METRICS_PORT"] == str(metrics_port(service))
    secret = of_kind(k8s, "Secret")["minqing-secrets"]["stringData"]
    assert all("REPLACE-ME" in value for key, value in secret.items() if key.endswith(("PASSWORD", "JWT_SECRET")))
    assert len(secret["MINQING_JWT_SECRET"].encode()) < 32, "the placeholder must stop the gateway, not work"
    for service in SERVICES:
        assert urlsplit(secret[f"MINQING_{service.upper()}_DB_URL"]).path == f"/minqing_{service}"


def test_k8s_jobs(k8s):
    jobs = of_kind(k8s, "Job")
    migrate = jobs["minqing-migrate"]["spec"]["template"]["spec"]
    assert migrate["containers"][0]["command"] == ["minqing", "migrate"]
    assert {key for _, key in pod_references(migrate)[1]} == {f"MINQING_{s.upper()}_DB_URL" for s in SERVICES}
    topology_job = jobs["minqing-rabbitmq-topology"]["spec"]["template"]["spec"]
    assert "minqing-rabbitmq-topology" in pod_references(topology_job)[0]
    for job in jobs.values():
        assert_references_exist(k8s, job["spec"]["template"]["spec"])


# --- rabbitmq topology -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def definitions() -> dict:
    return json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())


def test_compose_and_k8s_apply_the_same_topology(definitions):
    k8s_definitions = json.loads((K8S / "jobs" / "definitions.json").read_text())
    for section in ("vhosts", "policies", "exchanges", "queues", "bindings"):
        assert k8s_definitions[section] == definitions[section], section
    assert "users" not in k8s_definitions, "credentials come from the Secret"
    (vhost,) = definitions["vhosts"]
    assert vhost["default_queue_type"] == vhost["metadata"]["default_queue_type"] == "quorum"


def test_policies_match_the_queues_the_code_declares(definitions):
    work = [name for name, _, _ in topology.all_event_handlers()]
    assert work and all(re.fullmatch(r"evt-.+--\w+\.\w+", name) for name in work)
    retry = [f"{name}.retry.{n}" for name in work for n in (1, 2, 3, 12)]
    dlq = [f"{name}.dlq" for name in work]
    policies = {p["name"]: p for p in definitions["policies"]}
    work_policy, retry_policy = policies["minqing-event-work-queues"], policies["minqing-event-retry-queues"]
    for name in work:
        assert re.search(work_policy["pattern"], name) and not re.search(retry_policy["pattern"], name), name
    for name in retry:
        assert re.search(retry_policy["pattern"], name) and not re.search(work_policy["pattern"], name), name
    for name in dlq:
        assert not any(re.search(p["pattern"], name) for p in policies.values()), name
    # the retry queues' own x-dead-letter-* and TTL arguments stay untouched
    assert not {"dead-letter-exchange", "dead-letter-routing-key", "message-ttl"} & retry_policy["definition"].keys()
    # the poison exchange exists and delivers into a quorum queue
    dlx = work_policy["definition"]["dead-letter-exchange"]
    assert any(e["name"] == dlx for e in definitions["exchanges"])
    (binding,) = [b for b in definitions["bindings"] if b["source"] == dlx]
    (queue,) = [q for q in definitions["queues"] if q["name"] == binding["destination"]]
    assert queue["arguments"]["x-queue-type"] == "quorum"


class _FakeManagementApi(BaseHTTPRequestHandler):
    calls: list
    queue_type: str

    def _reply(self, status: int, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        self.calls.append(("GET", self.path, None))
        if self.path == "/api/vhosts/minqing":
            self._reply(200, {"name": "minqing", "default_queue_type": self.queue_type})
        else:
            self._reply(200, {"management_version": "3.13.7"})

    def do_PUT(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        self.calls.append((self.command, self.path, json.loads(self.rfile.read(length) or b"null")))
        self._reply(201 if self.command == "POST" else 204)

    do_POST = do_PUT

    def log_message(self, *args):
        pass


def run_topology_job(tmp_path, queue_type: str) -> tuple[subprocess.CompletedProcess, list]:
    calls: list = []
    handler = type("Api", (_FakeManagementApi,), {"calls": calls, "queue_type": queue_type})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "RABBITMQ_MANAGEMENT_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "RABBITMQ_ADMIN_USER": "admin",
        "RABBITMQ_ADMIN_PASSWORD": "secret",
        "RABBITMQ_APP_USER": "minqing",
        "RABBITMQ_APP_PASSWORD": "app-secret",
        "TOPOLOGY_WAIT_SECONDS": "5",
    }
    try:
        script, defs = K8S / "jobs" / "apply_topology.py", K8S / "jobs" / "definitions.json"
        result = subprocess.run(
            [sys.executable, str(script), str(defs)], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
    finally:
        server.shutdown()
        server.server_close()
    return result, calls


def test_topology_job_applies_vhost_user_policies_and_poison_queue(tmp_path):
    result, calls = run_topology_job(tmp_path, "quorum")
    assert result.returncode == 0, result.stderr
    writes = {(method, path): body for method, path, body in calls if method != "GET"}
    assert writes[("PUT", "/api/vhosts/minqing")]["default_queue_type"] == "quorum"
    assert writes[("PUT", "/api/users/minqing")] == {"password": "app-secret", "tags": ""}
    assert writes[("PUT", "/api/permissions/minqing/minqing")] == {"configure": ".*", "write": ".*", "read": ".*"}
    policy = writes[("PUT", "/api/policies/minqing/minqing-event-work-queues")]
    assert policy["definition"]["delivery-limit"] == 20 and policy["apply-to"] == "queues"
    assert ("PUT", "/api/policies/minqing/minqing-event-retry-queues") in writes
    assert writes[("PUT", "/api/exchanges/minqing/minqing.poison")]["type"] == "fanout"
    assert writes[("PUT", "/api/queues/minqing/minqing.poison")]["arguments"] == {"x-queue-type": "quorum"}
    assert ("POST", "/api/bindings/minqing/e/minqing.poison/q/minqing.poison") in writes
    # the vhost (and with it the default queue type) comes before anything is declared in it
    order = [path for method, path, _ in calls if method != "GET"]
    assert order[0] == "/api/vhosts/minqing"


def test_topology_job_fails_when_the_default_queue_type_did_not_take(tmp_path):
    result, _ = run_topology_job(tmp_path, "classic")
    assert result.returncode != 0
    assert "default queue type" in (result.stderr + result.stdout)


# --- the operator's guide --------------------------------------------------------------------------------------
def test_guide_documents_every_setting():
    guide = (DEPLOY / "README.md").read_text()
    for key in config.DEFAULTS:
        assert f"`MINQING_{key.upper()}`" in guide, f"add MINQING_{key.upper()} to deploy/README.md's reference"
    for service in SERVICES:
        for suffix in ("DB_URL", "METRICS_PORT"):
            assert f"`MINQING_{service.upper()}_{suffix}`" in guide
    for name in ("MINQING_RPC_TIMEOUT", "MINQING_CONFIG", "MINQING_<SERVICE>_MAX_WORKERS"):
        assert f"`{name}`" in guide
    for command in ("minqing dlq list", "minqing dlq replay --queue", "minqing migrate", "pg_dump", "pg_restore"):
        assert command in guide
