"""The Kubernetes export: every decision, from the recorded production Compose configuration
(tests/data/prod-config.json) and a .env built here; then the whole output rendered by
`kubectl kustomize`, validated against the Kubernetes schemas of several minor versions
(kubernetes-validate) and scanned by Checkov. No cluster runs here: this is the proof."""

from __future__ import annotations

import copy
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from djship.engine.health import health_window
from djship.errors import DjshipError
from djship.export import kubernetes as k8s
from djship.export.kubectl import (
    MIGRATE,
    PREPARE,
    ROLLOUT,
    STAGE_LABEL,
    cluster_check,
    release_plan,
)
from djship.export.kubernetes import (
    HEADER,
    KubernetesOptions,
    cpu_quantity,
    dockerignore_line,
    export_kubernetes,
    memory_quantity,
    split_image,
)
from djship.export.writing import keep_out_of_images, write_export
from djship.scaffold.render import render_project
from djship.shipping.migrations import manage_argv
from tests.unit.conftest import options_for

CONFIG = json.loads((Path(__file__).parents[1] / "data" / "prod-config.json").read_text())
SECRET_KEY = "k8s-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
DB_PASSWORD = "k8s-test-db-password-42"
ENV = {
    "DJANGO_SECRET_KEY": SECRET_KEY,
    "POSTGRES_PASSWORD": DB_PASSWORD,
    "POSTGRES_DB": "shop",
    "POSTGRES_USER": "shop",
    "REGISTRY": "10.0.0.1:5000",
    "WEB_CPUS": "2",
    "WEB_MEMORY": "1g",
    "WEB_REPLICAS": "3",
    "WEB_MAX_REPLICAS": "6",
}
EXTERNAL = {"POSTGRES_HOST": "pg.example.net", "POSTGRES_PORT": "6432"}
VERSION = "0123456789ab"
OPTIONS = KubernetesOptions("shop", "prod", VERSION, f"10.0.0.1:5000/shop-web:{VERSION}")
OVERLAY = "overlays/prod"
HOSTS = "shop.example.com,.example.org,localhost,127.0.0.1"
ALLOWED_CHECKOV_FAILURES = {
    # Releases are immutable version tags (djship refuses to build a version twice), and
    # djship knows no registry digest of them; the database image is the one .env names.
    ("CKV_K8S_43", "Deployment"),
    ("CKV_K8S_43", "Job"),
    ("CKV_K8S_43", "StatefulSet"),
    # PostgreSQL runs as the official image's postgres user (70 on Alpine, 999 on Debian):
    # initdb needs a user that exists in the image's /etc/passwd.
    ("CKV_K8S_40", "StatefulSet"),
}


def with_web_environment(**values) -> dict:
    config = copy.deepcopy(CONFIG)
    config["services"]["web"]["environment"].update(values)
    return config


def export(env=None, config=None, options=OPTIONS):
    return export_kubernetes(config or with_web_environment(DJANGO_ALLOWED_HOSTS=HOSTS),
                             ENV if env is None else env, options)  # fmt: skip


@pytest.fixture(scope="module")
def result():
    return export()


def documents(result, path: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(result.files[path]) if doc]


def one(result, path: str, kind: str) -> dict:
    (found,) = [doc for doc in documents(result, path) if doc["kind"] == kind]
    return found


def pod(result, path: str, kind: str) -> dict:
    return one(result, path, kind)["spec"]["template"]["spec"]


def web_container(result) -> dict:
    return pod(result, "base/web-deployment.yaml", "Deployment")["containers"][0]


def config_env(result) -> dict[str, str]:
    text = result.files[f"{OVERLAY}/config.env"]
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


# --- probes and stopping -------------------------------------------------------------------


def test_startup_and_readiness_ask_the_health_endpoint_as_compose_did(result):
    container = web_container(result)
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    healthcheck = CONFIG["services"]["web"]["healthcheck"]
    for name in ("startupProbe", "readinessProbe"):
        probe = container[name]
        assert probe["httpGet"]["path"] == "/healthz" and probe["httpGet"]["port"] == "http"
        # The Host header the Compose healthcheck sends, which DJANGO_ALLOWED_HOSTS accepts.
        assert probe["httpGet"]["httpHeaders"] == [{"name": "Host", "value": "127.0.0.1"}]
        assert probe["periodSeconds"] == 5 and probe["timeoutSeconds"] == 4
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= health_window(healthcheck)
    assert container["readinessProbe"]["failureThreshold"] == healthcheck["retries"]


def test_liveness_waits_past_harakiri_and_survives_a_database_outage(result):
    probe = web_container(result)["livenessProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] > k8s.HARAKIRI
    argv = probe["exec"]["command"]
    assert argv[:2] == ["python", "-c"] and "http://127.0.0.1:8000/healthz" in argv[2]
    assert liveness_exit(argv[2], 200) == 0
    assert liveness_exit(argv[2], 503) == 0  # the database is down, uWSGI and Django are not
    assert liveness_exit(argv[2], 500) != 0
    assert liveness_exit(argv[2], None) != 0  # nothing answers


def liveness_exit(script: str, status: int | None) -> int:
    """Run the liveness script against a local server answering `status` (None: none)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(status or 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    if status is None:
        server.server_close()  # the port is free again: the connection is refused
    else:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = subprocess.run(
            [sys.executable, "-c", script.replace(":8000/", f":{port}/")], timeout=30
        )
    finally:
        if status is not None:
            server.shutdown()
            server.server_close()
    return run.returncode


def test_a_stopping_pod_pauses_then_drains_within_a_grace_above_harakiri(result):
    spec = pod(result, "base/web-deployment.yaml", "Deployment")
    prestop = spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert prestop == ["sleep", str(k8s.STOP_DELAY)]
    # 75 s of the Compose stop_grace_period, plus the pause that comes out of the same budget.
    assert spec["terminationGracePeriodSeconds"] == 75 + k8s.STOP_DELAY
    assert spec["terminationGracePeriodSeconds"] - k8s.STOP_DELAY > k8s.HARAKIRI


def test_the_constants_match_the_generated_project():
    files = render_project(options_for("uv"))
    assert f"harakiri = {k8s.HARAKIRI}\n" in files["environments/prod/uwsgi.ini"]
    assert f"USER {k8s.WEB_UID}:{k8s.WEB_UID}" in files["environments/prod/Dockerfile"]
    nginx = files["environments/prod/nginx-tls-proxy.conf.template"]
    assert f"client_max_body_size {k8s.BODY_SIZE};" in nginx


# --- the web Deployment --------------------------------------------------------------------


def test_rollouts_never_lower_the_ready_pods_and_the_autoscaler_owns_the_count(result):
    deployment = one(result, "base/web-deployment.yaml", "Deployment")["spec"]
    assert deployment["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert "replicas" not in deployment  # an apply would reset what the autoscaler decided
    hpa = one(result, f"{OVERLAY}/web-hpa.yaml", "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 6)  # WEB_REPLICAS, WEB_MAX_REPLICAS
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert hpa["scaleTargetRef"]["name"] == "shop-web"
    default = export({**ENV, "WEB_REPLICAS": "2", "WEB_MAX_REPLICAS": ""})
    assert one(default, f"{OVERLAY}/web-hpa.yaml", "HorizontalPodAutoscaler")["spec"][
        "maxReplicas"
    ] == 4  # fmt: skip
    with pytest.raises(DjshipError, match="WEB_MAX_REPLICAS"):
        export({**ENV, "WEB_MAX_REPLICAS": "1"})
    budget = one(result, "base/web-pdb.yaml", "PodDisruptionBudget")["spec"]
    assert budget["maxUnavailable"] == 1


def test_web_pods_are_spread_across_nodes(result):
    spread = pod(result, "base/web-deployment.yaml", "Deployment")["topologySpreadConstraints"]
    assert spread[0]["topologyKey"] == "kubernetes.io/hostname" and spread[0]["maxSkew"] == 1
    assert spread[0]["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"


def test_every_pod_is_hardened(result):
    pods = {
        "web": pod(result, "base/web-deployment.yaml", "Deployment"),
        "job": pod(result, f"{OVERLAY}/migrate-job.yaml", "Job"),
        "db": pod(result, "components/database/db-statefulset.yaml", "StatefulSet"),
    }
    for name, spec in pods.items():
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "privileged": False,
                "capabilities": {"drop": ["ALL"]},
            }, name
    assert pods["web"]["securityContext"]["runAsUser"] == 10001
    assert pods["job"]["securityContext"]["runAsUser"] == 10001
    assert pods["db"]["securityContext"]["runAsUser"] == 70  # postgres in the Alpine image
    namespace = one(result, f"{OVERLAY}/namespace.yaml", "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_only_writable_places_are_the_compose_tmpfs_mounts(result):
    spec = pod(result, "base/web-deployment.yaml", "Deployment")
    scratch = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    mounts = {m["mountPath"] for m in spec["containers"][0]["volumeMounts"] if m["name"] in scratch}
    assert mounts == {"/tmp", "/srv/hotfix", "/run/web"}  # /run/web: uWSGI's unix socket
    sizes = {v["name"]: v["emptyDir"] for v in spec["volumes"] if "emptyDir" in v}
    assert all("sizeLimit" in value for value in sizes.values())
    assert "medium" not in sizes["tmp"]  # uploads land there: on disk, not in WEB_MEMORY


# --- resources -----------------------------------------------------------------------------


def web_resources(result) -> dict:
    """The web container's resources: the overlay's patch (they come from .env)."""
    patch = yaml.safe_load(result.files[f"{OVERLAY}/web-patch.yaml"])
    (container,) = patch["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "web"  # the patch's merge key
    return container["resources"]


def test_cpu_and_memory_come_from_env(result):
    assert web_resources(result) == {
        "requests": {"cpu": "2", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }  # requests = limits: uWSGI sizes its workers from the CPU limit
    small = export({**ENV, "WEB_CPUS": "1.5", "WEB_MEMORY": "512m"})
    assert web_resources(small)["limits"] == {"cpu": "1500m", "memory": "512Mi"}
    assert web_resources(small)["requests"] == web_resources(small)["limits"]
    job = pod(small, f"{OVERLAY}/migrate-job.yaml", "Job")["containers"][0]
    assert job["resources"]["limits"] == {"cpu": "1500m", "memory": "512Mi"}
    resolved = export({k: v for k, v in ENV.items() if k not in ("WEB_CPUS", "WEB_MEMORY")})
    assert web_resources(resolved)["limits"] == {"cpu": "2", "memory": "1Gi"}  # Compose's


@pytest.mark.parametrize(
    ("docker", "kubernetes"),
    [("1g", "1Gi"), ("512m", "512Mi"), ("1.5g", "1536Mi"), ("1073741824", "1Gi"),
     ("256k", "256Ki"), (134217728, "128Mi"), ("1000000", "1Mi"), ("2G", "2Gi")],
)  # fmt: skip
def test_docker_memory_sizes_become_kubernetes_quantities(docker, kubernetes):
    assert memory_quantity(docker) == kubernetes  # never "512m": in Kubernetes, millibytes


@pytest.mark.parametrize(("docker", "kubernetes"), [("2", "2"), (1, "1"), ("1.5", "1500m"),
                                                    ("0.25", "250m"), (0.5, "500m")])  # fmt: skip
def test_docker_cpus_become_kubernetes_quantities(docker, kubernetes):
    assert cpu_quantity(docker) == kubernetes


@pytest.mark.parametrize("value", ["lots", "-1", "0"])
def test_bad_resources_in_env_are_refused(value):
    with pytest.raises(DjshipError):
        export({**ENV, "WEB_CPUS": value})
    with pytest.raises(DjshipError):
        memory_quantity(value if value != "0" else "1x")


# --- image ---------------------------------------------------------------------------------


def test_the_image_is_the_release_tagged_with_its_version(result):
    kustomization = yaml.safe_load(result.files[f"{OVERLAY}/kustomization.yaml"])
    assert kustomization["images"] == [
        {"name": "shop-web", "newName": "10.0.0.1:5000/shop-web", "newTag": VERSION}
    ]
    assert web_container(result)["image"] == "shop-web"  # what the overlay rewrites
    assert web_container(result)["imagePullPolicy"] == "Always"
    assert split_image("reg:5000/team/shop-web:v2") == ("reg:5000/team/shop-web", "v2")
    assert split_image("shop-web") == ("shop-web", "latest")


# --- settings and secrets ------------------------------------------------------------------


def test_settings_are_the_web_environment_with_the_database_address(result):
    settings = config_env(result)
    assert settings["DJANGO_HTTPS"] == "1"  # the forwarded scheme is trusted
    assert settings["DJANGO_ALLOWED_HOSTS"] == HOSTS
    assert settings["DJANGO_SECRET_KEY_FILE"] == "/run/secrets/django_secret_key"
    assert settings["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert (settings["POSTGRES_HOST"], settings["POSTGRES_PORT"]) == ("shop-db", "5432")
    assert "DJANGO_TIME_ZONE" not in settings  # unset in .env: left out, as Compose does
    dollars = export(config=with_web_environment(DJANGO_LOG_LEVEL="a$$b"))
    assert config_env(dollars)["DJANGO_LOG_LEVEL"] == "a$b"  # Compose's escape undone
    container = web_container(result)
    assert container["envFrom"] == [{"configMapRef": {"name": "shop-config"}}]


def test_no_secret_value_is_ever_written_into_a_manifest(result):
    for path, text in result.files.items():
        assert SECRET_KEY not in text and DB_PASSWORD not in text, path
    assert result.secrets == {
        f"{OVERLAY}/secrets/django_secret_key": SECRET_KEY,
        f"{OVERLAY}/secrets/postgres_password": DB_PASSWORD,
    }
    assert "secrets/" in result.files[f"{OVERLAY}/.gitignore"].splitlines()
    generator = yaml.safe_load(result.files[f"{OVERLAY}/kustomization.yaml"])["secretGenerator"]
    assert generator[0]["files"] == [
        "django_secret_key=secrets/django_secret_key",
        "postgres_password=secrets/postgres_password",
    ]
    volume = pod(result, "base/web-deployment.yaml", "Deployment")["volumes"][0]["secret"]
    assert volume["items"] == [
        {"key": "django_secret_key", "path": "django_secret_key"},
        {"key": "postgres_password", "path": "postgres_password"},
    ]
    mount = web_container(result)["volumeMounts"][0]
    assert mount == {"name": "secrets", "mountPath": "/run/secrets", "readOnly": True}


def test_a_secret_looking_variable_goes_to_the_secret_not_the_configmap():
    leaky = export(config=with_web_environment(PAYMENT_API_KEY="pk-live-123"))
    assert "PAYMENT_API_KEY" not in config_env(leaky)
    assert all("pk-live-123" not in text for text in leaky.files.values())
    assert leaky.secrets[f"{OVERLAY}/secrets/payment_api_key"] == "pk-live-123"
    patch = yaml.safe_load(leaky.files[f"{OVERLAY}/web-patch.yaml"])
    env = patch["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {
            "name": "PAYMENT_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": "shop-secrets", "key": "payment_api_key"}},
        }
    ]
    assert any("PAYMENT_API_KEY looks secret" in warning for warning in leaky.warnings)


def test_a_secret_without_a_value_in_env_is_an_error():
    with pytest.raises(DjshipError, match="DJANGO_SECRET_KEY"):
        export({k: v for k, v in ENV.items() if k != "DJANGO_SECRET_KEY"})


def test_the_tls_pair_comes_from_the_compose_files_or_cert_manager(result):
    tls = "/project/environments/prod/tls/"
    assert result.copies == {
        f"{OVERLAY}/secrets/tls.crt": tls + "cert.pem",
        f"{OVERLAY}/secrets/tls.key": tls + "key.pem",
    }
    generator = yaml.safe_load(result.files[f"{OVERLAY}/kustomization.yaml"])["secretGenerator"]
    assert generator[1]["type"] == "kubernetes.io/tls"
    issued = export({**ENV, "CERT_MANAGER_ISSUER": "letsencrypt"})
    assert issued.copies == {}
    kustomization = yaml.safe_load(issued.files[f"{OVERLAY}/kustomization.yaml"])
    assert [g["name"] for g in kustomization["secretGenerator"]] == ["shop-secrets"]
    ingress = one(issued, f"{OVERLAY}/ingress.yaml", "Ingress")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"


def test_secret_files_stay_out_of_images_and_git(tmp_path):
    assert dockerignore_line("kubernetes") == "kubernetes/overlays/*/secrets"
    (tmp_path / ".dockerignore").write_text(".env\n")
    assert keep_out_of_images(tmp_path, tmp_path / "kubernetes") == dockerignore_line("kubernetes")
    assert keep_out_of_images(tmp_path, tmp_path / "kubernetes") is None  # once only
    lines = (tmp_path / ".dockerignore").read_text().splitlines()
    assert lines[0] == ".env" and lines.count("kubernetes/overlays/*/secrets") == 1
    assert keep_out_of_images(tmp_path, tmp_path.parent / "elsewhere") is None  # not in context
    assert (tmp_path / ".dockerignore").read_text().splitlines() == lines


def without_tls_copies(result):
    """The recorded configuration's TLS pair is not on this disk: any bytes do here."""
    for relative in result.copies:
        result.secrets[relative] = "not a real certificate"
    result.copies.clear()
    return result


def test_writing_an_export_keeps_secrets_private_and_removes_stale_files(tmp_path):
    write_export(without_tls_copies(export()), tmp_path)
    secret = tmp_path / OVERLAY / "secrets" / "django_secret_key"
    assert secret.read_text() == SECRET_KEY and secret.stat().st_mode & 0o777 == 0o600
    assert (secret.parent.stat().st_mode & 0o777) == 0o700
    kept = tmp_path / "overlays" / "staging" / "kustomization.yaml"
    kept.parent.mkdir(parents=True)
    kept.write_text(HEADER + "\n")  # another environment's export: not this one's to remove
    mine = tmp_path / "base" / "notes.yaml"
    mine.write_text("# my own file\n")
    write_export(without_tls_copies(export({**ENV, **EXTERNAL})), tmp_path)
    assert not (tmp_path / "components" / "database" / "db-statefulset.yaml").exists()
    assert not (tmp_path / OVERLAY / "db-storage.yaml").exists()
    assert kept.exists() and mine.exists()


# --- migrations ----------------------------------------------------------------------------


def test_the_job_runs_the_release_migrations_once_under_the_advisory_lock(result):
    job = one(result, f"{OVERLAY}/migrate-job.yaml", "Job")
    assert job["metadata"]["name"] == f"shop-migrate-{VERSION}"
    assert job["spec"]["backoffLimit"] == 0  # a failed migration is looked at, not retried
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] + container["args"] == manage_argv({"action": "migrate"})
    assert "pg_advisory_lock" in container["args"][0]
    assert container["image"] == "shop-web"  # the release's, through the overlay's images
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


@pytest.mark.parametrize(
    "version", ["0123456789ab-dirty-20261202-010203", "Release_2.0", "x" * 128]
)
def test_job_names_are_valid_kubernetes_names(version):
    options = KubernetesOptions("my_shop", "prod", version, f"r/my_shop-web:{version}")
    name = one(export(options=options), f"{OVERLAY}/migrate-job.yaml", "Job")["metadata"]["name"]
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name) and len(name) <= 63
    assert name.startswith("my-shop-migrate-")


def test_the_plan_runs_the_job_before_the_deployment_changes(result):
    plan = release_plan(result.release, "/srv/k8s/overlays/prod", context="prod-cluster")
    argv = [step.command.argv for step in plan]
    assert all(a[:5] == ["kubectl", "--context", "prod-cluster", "--namespace", "shop-prod"]
               for a in argv)  # fmt: skip
    verbs = [" ".join(a[5:7]) for a in argv]
    assert verbs == [
        "apply --kustomize",  # prepare: settings, secrets, services, policies, database
        "rollout status",  # the database takes connections
        "delete job",  # an earlier failed attempt of this version
        "apply --kustomize",  # migrate: the Job
        "logs --follow",  # its output, up to DJSHIP-RESULT
        "wait --for=condition=Complete",
        "apply --kustomize",  # rollout: the Deployment, only now
        "rollout status",
    ]
    selectors = [a[-1] for a in argv if a[5] == "apply"]
    assert selectors == [f"{STAGE_LABEL}={PREPARE}", f"{STAGE_LABEL}={MIGRATE}",
                         f"{STAGE_LABEL}={ROLLOUT}"]  # fmt: skip
    assert argv[1][-2:] == ["statefulset/shop-db", "--timeout=300s"]
    assert [step.result for step in plan].index(True) == 4
    assert argv[4][-1] == argv[5][-1] == f"job/shop-migrate-{VERSION}"
    undo = plan[-1].on_failure[-1].argv
    assert undo[-3:] == ["rollout", "undo", "deployment/shop-web"]
    assert argv[-1][-1] == f"--timeout={result.release.rollout_seconds}s"
    without_context = release_plan(result.release, "k")[0].command.argv
    assert "--context" not in without_context
    assert cluster_check("prod-cluster").argv == [
        "kubectl", "--context", "prod-cluster", "version", "--output=json"
    ]  # fmt: skip


def test_every_object_is_in_one_stage_and_only_the_deployment_rolls_out(result):
    stages = {}
    for path in result.files:
        if not path.endswith(".yaml") or "kustomization" in path or "patch" in path:
            continue
        if path.endswith("db-storage.yaml"):
            continue
        for doc in documents(result, path):
            stages[(doc["kind"], doc["metadata"]["name"])] = doc["metadata"]["labels"][STAGE_LABEL]
    assert {key for key, stage in stages.items() if stage == ROLLOUT} == {
        ("Deployment", "shop-web")
    }
    assert {key for key, stage in stages.items() if stage == MIGRATE} == {
        ("Job", f"shop-migrate-{VERSION}")
    }
    assert set(stages.values()) == {PREPARE, MIGRATE, ROLLOUT}


# --- the database --------------------------------------------------------------------------


def test_the_database_is_a_statefulset_on_its_own_volume(result):
    path = "components/database/db-statefulset.yaml"
    statefulset = one(result, path, "StatefulSet")["spec"]
    assert statefulset["replicas"] == 1 and statefulset["serviceName"] == "shop-db"
    service = one(result, "components/database/db-service.yaml", "Service")["spec"]
    assert service["clusterIP"] == "None"  # headless
    container = statefulset["template"]["spec"]["containers"][0]
    env = {item["name"]: item for item in container["env"]}
    assert env["PGDATA"]["value"].startswith("/var/lib/postgresql/data/")  # not the mount point
    assert env["POSTGRES_PASSWORD_FILE"]["value"] == "/run/secrets/postgres_password"
    assert env["POSTGRES_DB"]["valueFrom"]["configMapKeyRef"]["key"] == "POSTGRES_DB"
    assert "pg_isready" in container["readinessProbe"]["exec"]["command"][2]
    assert "$$" not in container["readinessProbe"]["exec"]["command"][2]
    assert "-m fast" in container["lifecycle"]["preStop"]["exec"]["command"][2]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/var/lib/postgresql/data", "/var/run/postgresql", "/tmp", "/dev/shm"} <= mounts
    storage = yaml.safe_load(result.files[f"{OVERLAY}/db-storage.yaml"])
    claim = storage["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == "10Gi"
    sized = export({**ENV, "DB_STORAGE": "50Gi", "DB_STORAGE_CLASS": "fast-ssd"})
    claim = yaml.safe_load(sized.files[f"{OVERLAY}/db-storage.yaml"])["spec"]
    claim = claim["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "fast-ssd"
    assert claim["resources"]["requests"]["storage"] == "50Gi"


def test_the_database_is_reachable_from_web_and_migrations_only(result):
    policy = one(result, "components/database/db-network-policy.yaml", "NetworkPolicy")["spec"]
    (rule,) = policy["ingress"]
    (source,) = rule["from"]
    assert source["podSelector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/component", "operator": "In", "values": ["web", "migrations"]}
    ]
    assert rule["ports"] == [{"port": "postgres", "protocol": "TCP"}]
    deny = documents(result, "base/network-policies.yaml")[0]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny


def test_an_external_database_gets_no_statefulset():
    external = export({**ENV, **EXTERNAL})
    assert not [path for path in external.files if "database" in path or "db-" in path]
    kustomization = yaml.safe_load(external.files[f"{OVERLAY}/kustomization.yaml"])
    assert "components" not in kustomization
    assert all(p["path"] != "db-storage.yaml" for p in kustomization["patches"])
    settings = config_env(external)
    assert (settings["POSTGRES_HOST"], settings["POSTGRES_PORT"]) == ("pg.example.net", "6432")
    assert external.secrets[f"{OVERLAY}/secrets/postgres_password"] == DB_PASSWORD
    assert external.release.database is None
    plan = release_plan(external.release, "k")
    assert not any("statefulset" in " ".join(s.command.argv) for s in plan)
    assert any("external (pg.example.net:6432)" in warning for warning in external.warnings)
    assert not any(warning.startswith("db") for warning in external.warnings)


# --- the way in ----------------------------------------------------------------------------


def test_the_ingress_terminates_tls_for_the_allowed_hosts(result):
    ingress = one(result, f"{OVERLAY}/ingress.yaml", "Ingress")
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert [rule["host"] for rule in spec["rules"]] == ["shop.example.com", "*.example.org"]
    assert spec["tls"] == [{"hosts": ["shop.example.com", "*.example.org"],
                            "secretName": "shop-tls"}]  # fmt: skip
    backend = spec["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "shop-web", "port": {"name": "http"}}
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "20m"
    policy = one(result, f"{OVERLAY}/ingress.yaml", "NetworkPolicy")["spec"]
    selector = policy["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
    assert selector == {"kubernetes.io/metadata.name": "ingress-nginx"}
    anywhere = export(config=CONFIG)  # localhost and addresses only
    spec = one(anywhere, f"{OVERLAY}/ingress.yaml", "Ingress")["spec"]
    assert "host" not in spec["rules"][0] and spec["tls"] == [{"secretName": "shop-tls"}]
    assert any("no public host" in warning for warning in anywhere.warnings)


# --- what does not carry over --------------------------------------------------------------


def test_what_cannot_be_carried_over_is_said(result):
    text = "\n".join(result.warnings)
    assert "proxy (nginx) is not exported" in text
    assert "web, db: logging" in text
    assert "db: cap_add" in text
    header = result.files[f"{OVERLAY}/kustomization.yaml"]
    assert "#   - proxy (nginx) is not exported" in header
    config = copy.deepcopy(CONFIG)
    config["services"]["worker"] = {"image": "shop-web:prod"}
    config["services"]["web"]["volumes"].append(
        {"type": "volume", "source": "media", "target": "/app/media"}
    )
    config["services"]["web"]["privileged"] = True
    more = export({k: v for k, v in ENV.items() if k != "REGISTRY"} | {"DB_NODE": "n1"}, config)
    text = "\n".join(more.warnings)
    assert "worker: not exported" in text
    assert "web: the volume mount of media at /app/media is not exported" in text
    assert "web: privileged has no equivalent" in text
    assert "REGISTRY is empty" in text and "DB_NODE does not apply" in text


def test_a_domain_only_host_list_raises_no_probe_warning():
    # The probes' Host (127.0.0.1) is answered ahead of Django's host check (health.py).
    strict = export(config=with_web_environment(DJANGO_ALLOWED_HOSTS="shop.example.com"))
    assert not any("127.0.0.1" in warning for warning in strict.warnings)


def test_every_file_says_it_is_generated_and_parses(result):
    for path, text in result.files.items():
        assert text.startswith(HEADER + "\n"), path
        if path.endswith(".yaml"):
            assert documents(result, path), path


# --- kubectl kustomize, the schemas, the scanner -------------------------------------------

KUBERNETES_VERSIONS = ("1.33", "1.35", "1.37")  # spanning the five newest minors


def tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not os.access(found, os.X_OK):
        pytest.fail(f"{name} is not installed: `uv sync` installs the dev group (pyproject.toml)")
    return found


def rendered_variants(tmp_path: Path) -> dict[str, str]:
    """`kubectl kustomize` of each environment (prod, staging) with each database choice."""
    variants = {}
    for database, extra in (("internal", {}), ("external", EXTERNAL)):
        root = tmp_path / database
        for environment, env in (("prod", ENV), ("staging", {**ENV, "WEB_REPLICAS": "1"})):
            version = "20261202-010203"
            options = KubernetesOptions("shop", environment, version, f"r:5000/shop-web:{version}")
            result = without_tls_copies(export({**env, **extra}, options=options))
            write_export(result, root)
            run = subprocess.run(
                [tool("kubectl"), "kustomize", str(root / result.overlay)],
                capture_output=True,
                text=True,
            )
            assert run.returncode == 0, run.stderr
            assert SECRET_KEY not in run.stdout  # base64 in the Secret, as any Secret is
            variants[f"{environment}-{database}"] = run.stdout
    return variants


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return rendered_variants(tmp_path_factory.mktemp("kubernetes"))


@pytest.fixture(scope="module")
def variants(rendered):
    return {name: [d for d in yaml.safe_load_all(text) if d] for name, text in rendered.items()}


def test_kustomize_renders_each_environment_and_database_choice(variants):
    for name, objects in variants.items():
        kinds = {doc["kind"] for doc in objects}
        assert {"Deployment", "Job", "Ingress", "ConfigMap", "Secret"} <= kinds, name
        assert ("StatefulSet" in kinds) == name.endswith("internal"), name
        for doc in objects:  # the plan's selections cover every object, generated ones too
            assert doc["metadata"]["labels"][STAGE_LABEL] in (PREPARE, MIGRATE, ROLLOUT), doc
            assert doc["metadata"].get("namespace", doc["metadata"]["name"]) == (
                f"shop-{name.split('-')[0]}"
            )
        deployment = next(doc for doc in objects if doc["kind"] == "Deployment")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "r:5000/shop-web:20261202-010203"
        config = next(doc for doc in objects if doc["kind"] == "ConfigMap")["metadata"]["name"]
        assert container["envFrom"][0]["configMapRef"]["name"] == config  # the hashed name


def test_the_manifests_validate_against_the_kubernetes_schemas(variants):
    try:
        import kubernetes_validate
    except ImportError:  # pragma: no cover
        pytest.fail("kubernetes-validate is not installed: `uv sync` installs the dev group")
    for name, objects in variants.items():
        for version in KUBERNETES_VERSIONS:
            for doc in objects:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    pytest.fail(f"{name}, {doc['kind']} on Kubernetes {version}: {error.message}")


def test_checkov_finds_nothing_beyond_the_reviewed_exceptions(rendered, tmp_path_factory):
    directory = tmp_path_factory.mktemp("checkov")
    for name, text in rendered.items():
        (directory / f"{name}.yaml").write_text(text)
    run = subprocess.run(
        [tool("checkov"), "--directory", str(directory), "--framework", "kubernetes",
         "--output", "json", "--quiet", "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.stdout.strip(), run.stderr[-2000:]
    report = json.loads(run.stdout)
    failures = {
        (check["check_id"], check["resource"].split(".")[0])
        for check in report["results"]["failed_checks"]
    }
    assert failures <= ALLOWED_CHECKOV_FAILURES, failures - ALLOWED_CHECKOV_FAILURES
    assert report["summary"]["passed"] > 0 and report["summary"]["parsing_errors"] == 0
