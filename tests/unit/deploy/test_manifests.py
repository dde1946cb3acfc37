"""The deploy/ folder points at things that exist: every YAML and unit file parses, every
command and image names a real console entry point, every probe a real health endpoint."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.stack import NATS_USERS, password_variable
from tests.tlsfiles import make_tls_files
from zvonar_contracts.subjects import SERVICES
from zvonar_devtools.natsserver import nats_server_binary

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s" / "base"  # the overlays: test_kustomize.py
MONITOR_PORT = 9100
GATEWAY_PORT = 8000


def console_scripts() -> dict[str, str]:
    """Every [project.scripts] entry of the workspace packages."""
    scripts: dict[str, str] = {}
    for pyproject in [
        *ROOT.glob("services/*/pyproject.toml"),
        *ROOT.glob("shared/*/pyproject.toml"),
    ]:
        scripts.update(tomllib.loads(pyproject.read_text())["project"].get("scripts", {}))
    return scripts


SCRIPTS = console_scripts()


def k8s_documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s_documents() if d["kind"] == kind}


def nats_secret(user: str) -> str:
    """The Secret with a NATS user's NATS_USER and NATS_PASSWORD: the service's own Secret,
    or zvonar-nats-admin for the operators' user (made by the overlay's secretGenerator)."""
    return "zvonar-nats-admin" if user == "zvonar" else f"zvonar-{user}"


def unit_file(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as {section: {key: [values]}} (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None and re.fullmatch(r"[A-Za-z]+", key), (
            f"{path.name}:{number}: not a unit file line: {raw!r}"
        )
        current.setdefault(key, []).append(value)
    return sections


def test_every_service_has_a_console_script() -> None:
    for service in SERVICES:
        assert SCRIPTS.get(f"zvonar-{service}") == f"zvonar_{service}.__main__:main"


def test_every_yaml_file_parses_and_has_a_kind() -> None:
    paths = sorted(DEPLOY.rglob("*.yaml"))
    assert paths
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                assert doc.get("apiVersion") and doc.get("kind"), path


def test_kustomization_lists_every_manifest() -> None:
    [kustomization] = yaml.safe_load_all((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_a_deployment_per_service_runs_its_entry_point() -> None:
    deployments = of_kind("Deployment")
    # The campaign service's relay runs apart: the same image, `zvonar-campaign relay`.
    assert set(deployments) == {f"zvonar-{s}" for s in SERVICES} | {"zvonar-campaign-relay"}
    for name, deployment in deployments.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        program = container["command"][0]
        assert program in SCRIPTS and name.startswith(program)
        assert container["image"].rsplit("/", 1)[-1].split(":")[0] == program
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    relay = deployments["zvonar-campaign-relay"]
    assert relay["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "zvonar-campaign",
        "relay",
    ]
    # Two: one holds the relay lease and publishes, the other stands by (docs/scaling.md).
    assert (relay["spec"]["replicas"], relay["spec"]["strategy"]["type"]) == (2, "RollingUpdate")


def _port_number(container: dict[str, Any], port: int | str) -> int:
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    number = ports[port] if isinstance(port, str) else port
    assert number in ports.values()
    return int(number)


def test_probes_point_at_health_endpoints_on_declared_ports() -> None:
    for deployment in of_kind("Deployment").values():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        live = container["livenessProbe"]["httpGet"]
        ready = container["readinessProbe"]["httpGet"]
        assert (live["path"], ready["path"]) == ("/healthz", "/readyz")
        # Every service, the gateway too, answers its own probes on the monitor port (the
        # gateway's /healthz on 8000 reports the whole system, not this process).
        assert _port_number(container, live["port"]) == MONITOR_PORT
        assert _port_number(container, ready["port"]) == MONITOR_PORT


SECRET_KEYS = ("DATABASE_URL", "ZVONAR_ADMIN_TOKEN", "ZVONAR_SESSION_SECRET", "ZVONAR_SECRETS_KEY")
PLACEHOLDERS = re.compile(r"change-?me|changeit|s3cr3t|hunter2|password123", re.IGNORECASE)


def test_settings_come_from_the_configmap_and_the_secret() -> None:
    configmap = of_kind("ConfigMap")["zvonar-settings"]["data"]
    assert {"NATS_URL", "DIALER_TIME_SCALE"} <= configmap.keys()
    assert configmap["ZVONAR_MONITOR_PORT"] == str(MONITOR_PORT)
    assert configmap["ZVONAR_MONITOR_HOST"] == "0.0.0.0"
    assert all(isinstance(value, str) for value in configmap.values())
    assert not set(SECRET_KEYS) & configmap.keys()  # secrets never sit in the ConfigMap
    for deployment in of_kind("Deployment").values():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
        # One Secret per service: its NATS login (NATS_USER, NATS_PASSWORD) and the rest.
        own = nats_secret(container["command"][0].removeprefix("zvonar-"))
        assert sources == {"zvonar-settings", own}


def test_no_secret_values_ship_the_overlays_generate_them() -> None:
    # No Secret in the base: no placeholder token or password that would work once
    # deployed. The overlays generate them from files make-secrets.sh fills with random
    # values, which git ignores.
    assert of_kind("Secret") == {}
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and "secrets" not in path.relative_to(DEPLOY).parts:
            found = PLACEHOLDERS.search(path.read_text(errors="replace"))
            assert found is None, f"{path.relative_to(ROOT)}: placeholder {found.group()!r}"
    secret_file = "deploy/k8s/overlays/prod/secrets/gateway.env"
    ignored = subprocess.run(["git", "check-ignore", "-q", secret_file], cwd=ROOT, timeout=30)
    assert ignored.returncode == 0
    # make-secrets.sh writes every key the services read from their Secrets, and the README
    # tells the platform team to run it.
    script = (K8S.parent / "make-secrets.sh").read_text()
    for key in (*SECRET_KEYS, "NATS_USER", "NATS_PASSWORD"):
        assert f"{key}=" in script, key
    assert "make-secrets.sh" in (DEPLOY / "README.md").read_text()


def test_every_gateway_replica_reads_the_same_session_secret() -> None:
    [container] = of_kind("Deployment")["zvonar-gateway"]["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    ref = env["ZVONAR_SESSION_SECRET"]["valueFrom"]["secretKeyRef"]
    # Not optional: a gateway pod without it does not start (it would seal with its own key).
    assert ref == {"name": "zvonar-gateway", "key": "ZVONAR_SESSION_SECRET"}


def test_the_gateway_service_reaches_the_gateway_on_8000() -> None:
    service = of_kind("Service")["zvonar-gateway"]
    [container] = of_kind("Deployment")["zvonar-gateway"]["spec"]["template"]["spec"]["containers"]
    [port] = service["spec"]["ports"]
    assert port["port"] == GATEWAY_PORT
    assert _port_number(container, port["targetPort"]) == GATEWAY_PORT
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "zvonar-gateway"}


def test_nats_runs_as_a_three_node_statefulset() -> None:
    statefulset = of_kind("StatefulSet")["nats"]
    assert statefulset["spec"]["replicas"] == 3
    assert statefulset["spec"]["serviceName"] in of_kind("Service")
    conf = of_kind("ConfigMap")["nats-config"]["data"]["nats.conf"]
    assert len(re.findall(r"nats-route://nats-\d\.", conf)) == 3
    assert "jetstream" in conf


NATS_PASSWORDS = {password_variable(user): f"pw{user}" for user in NATS_USERS}


@pytest.mark.parametrize("node", [1, 2, 3])
def test_nats_cluster_configs_are_valid(node: int, tmp_path: Path) -> None:
    path = DEPLOY / "nats" / f"nats-{node}.conf"
    text = path.read_text()
    assert f"server_name: nats-{node}" in text
    assert len(re.findall(r"nats-route://", text)) == 3
    assert "include ./auth.conf" in text
    # Checked as installed: next to auth.conf, with its TLS files and the passwords.
    tls = make_tls_files(tmp_path / "tls")
    for name in ("server.crt", "server.key", "ca.crt"):
        assert f"/etc/nats/tls/{name}" in text
    text = text.replace("/etc/nats/tls/", f"{tls.ca.parent}/")
    (tmp_path / "nats.conf").write_text(text)
    (tmp_path / "auth.conf").write_text((DEPLOY / "nats" / "auth.conf").read_text())
    checked = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(tmp_path / "nats.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **NATS_PASSWORDS},
    )
    assert checked.returncode == 0, checked.stderr


def test_the_dev_nats_config_listens_on_loopback_with_a_user_per_service() -> None:
    text = (DEPLOY / "nats" / "nats.conf").read_text()
    assert re.search(r"^listen: 127\.0\.0\.1:4222$", text, re.M)
    assert re.search(r"^http: 127\.0\.0\.1:8222$", text, re.M)
    assert "include ./auth.conf" in text
    auth = (DEPLOY / "nats" / "auth.conf").read_text()
    users = re.findall(r"^\s*user: (\w+)$", auth, re.M)
    assert sorted(users) == sorted(NATS_USERS)
    for user in NATS_USERS:
        assert f"password: ${password_variable(user)}" in auth


def test_k8s_nats_has_the_same_users_and_their_passwords_from_each_services_secret() -> None:
    data = of_kind("ConfigMap")["nats-config"]["data"]
    assert data["auth.conf"] == (DEPLOY / "nats" / "auth.conf").read_text()
    assert "include ./auth.conf" in data["nats.conf"]
    [nats] = of_kind("StatefulSet")["nats"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in nats["env"]}
    for user in NATS_USERS:
        ref = env[password_variable(user)]
        assert ref == {"name": nats_secret(user), "key": "NATS_PASSWORD"}, user


def test_a_systemd_unit_per_service_runs_its_entry_point() -> None:
    units = {p.stem: unit_file(p) for p in (DEPLOY / "systemd").glob("*.service")}
    assert set(units) == {f"zvonar-{s}" for s in SERVICES} | {"nats-server"}
    for name, unit in units.items():
        assert {"Unit", "Service", "Install"} <= unit.keys()
        [exec_start] = unit["Service"]["ExecStart"]
        program = Path(shlex.split(exec_start)[0]).name
        assert program == ("nats-server" if name == "nats-server" else name)
        assert program == "nats-server" or program in SCRIPTS
        assert unit["Service"]["User"] != ["root"]
        if name != "nats-server":
            assert "nats-server.service" in unit["Unit"]["After"][0].split()


def test_the_procfile_starts_nats_and_every_service() -> None:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        entries[name.strip()] = shlex.split(command)
    assert set(entries) == {"nats", *SERVICES}
    assert "nats-server" in entries["nats"]
    for service in SERVICES:
        assert f"zvonar-{service}" in entries[service] and f"zvonar-{service}" in SCRIPTS
    ports = [arg for args in entries.values() for arg in args if "MONITOR_PORT" in arg]
    assert len(set(ports)) == len(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_a_containerfile_per_service_installs_only_that_service(service: str) -> None:
    text = (DEPLOY / "containers" / f"{service}.Containerfile").read_text()
    assert len(re.findall(r"^FROM ", text, flags=re.M)) >= 2  # multi-stage
    assert f"--package zvonar-{service}" in text
    assert f"./services/{service}" in text
    others = [s for s in SERVICES if s != service]
    assert not any(f"services/{other}" in text for other in others)
    [user] = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert user.split(":")[0] not in ("root", "0")
    [entrypoint] = re.findall(r"^ENTRYPOINT (.+)$", text, flags=re.M)
    assert yaml.safe_load(entrypoint) == [f"zvonar-{service}"]
    assert f"zvonar-{service}" in SCRIPTS
