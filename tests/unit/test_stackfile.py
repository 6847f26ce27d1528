"""The Swarm stack derived from the production Compose configuration (recorded from
`docker compose config --format json` of a generated project: tests/data/prod-config.json,
refresh it when the templates change), and the reading of rollouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from djship.shipping.rollout import CONVERGED, ROLLED_BACK, WAITING, Task, judge_rollout
from djship.shipping.stackfile import StackOptions, derive_stack, escape_dollars, stack_yaml

CONFIG = json.loads((Path(__file__).parents[1] / "data" / "prod-config.json").read_text())
ROOT = "/project/environments/prod"
FILES = {
    f"{ROOT}/nginx-tls-proxy.conf.template": "a" * 64,
    f"{ROOT}/nginx-upstream.conf.template": "b" * 64,
    f"{ROOT}/tls/cert.pem": "c" * 64,
    f"{ROOT}/tls/key.pem": "d" * 64,
    f"{ROOT}/secrets/django_secret_key": "e" * 64,
    f"{ROOT}/secrets/postgres_password": "f" * 64,
}
OPTIONS = StackOptions(
    project="shop",
    version="abc123",
    web_image="10.0.0.1:5000/shop-web:abc123",
    replicas=3,
    db_node="node-1",
    monitor_seconds=70,
    digests=FILES,
    private=frozenset({f"{ROOT}/tls/key.pem"}),
)


@pytest.fixture(scope="module")
def stack():
    return derive_stack(CONFIG, OPTIONS)


def test_what_stack_deploy_rejects_or_ignores_is_gone(stack):
    for name, service in stack.data["services"].items():
        assert not {"build", "profiles", "tmpfs", "security_opt", "shm_size", "restart"} & set(
            service
        ), name
        assert isinstance(service.get("depends_on", []), list), name
    assert stack.data["version"] == "3.9"  # Docker 20.10's client refuses a file without it


def test_web_rolls_out_start_first_and_rolls_back_on_failure(stack):
    web = stack.data["services"]["web"]
    assert web["image"] == OPTIONS.web_image
    deploy = web["deploy"]
    assert deploy["replicas"] == 3 and deploy["endpoint_mode"] == "dnsrr"
    update = deploy["update_config"]
    assert update["order"] == "start-first" and update["failure_action"] == "rollback"
    assert update["monitor"] == "70s" and update["parallelism"] == 1
    assert deploy["rollback_config"]["order"] == "start-first"
    assert deploy["placement"]["preferences"] == [{"spread": "node.id"}]
    assert deploy["resources"]["limits"]["cpus"] == "2"


def test_the_database_runs_once_pinned_to_its_volume(stack):
    deploy = stack.data["services"]["db"]["deploy"]
    assert deploy["replicas"] == 1
    assert deploy["update_config"]["order"] == "stop-first"
    assert deploy["placement"]["constraints"] == ["node.hostname == node-1"]


def test_no_ipvs_needed(stack):
    for service in stack.data["services"].values():
        assert service["deploy"]["endpoint_mode"] == "dnsrr"
    ports = stack.data["services"]["proxy"]["ports"]
    assert {port["mode"] for port in ports} == {"host"}
    assert sorted(port["target"] for port in ports) == [80, 443]
    assert stack.data["services"]["proxy"]["environment"]["WEB_BACKEND"] == "tasks.web:8000"
    assert stack.data["services"]["proxy"]["deploy"]["mode"] == "global"


def test_tmpfs_lines_become_tmpfs_volumes(stack):
    volumes = stack.data["services"]["web"]["volumes"]
    targets = {v["target"] for v in volumes if v["type"] == "tmpfs"}
    assert {"/tmp", "/srv/hotfix"} <= targets
    sockets = stack.data["volumes"]["web-sockets"]
    assert sockets["driver_opts"]["type"] == "tmpfs"  # driver options carried over


def test_secrets_are_swarm_secrets_named_by_content(stack):
    web = stack.data["services"]["web"]
    assert {"source": "django_secret_key", "target": "django_secret_key"} in web["secrets"]
    spec = stack.data["secrets"]["django_secret_key"]
    assert spec["name"] == "shop_django_secret_key_" + "e" * 12
    assert "ca_bundle" not in stack.data["secrets"]  # a build secret only


def test_mounted_files_become_configs_and_private_keys_secrets(stack):
    proxy = stack.data["services"]["proxy"]
    config_targets = {ref["target"] for ref in proxy["configs"]}
    assert "/etc/nginx/templates/default.conf.template" in config_targets
    assert "/etc/nginx/tls/cert.pem" in config_targets
    assert {ref["target"] for ref in proxy["secrets"]} == {"/etc/nginx/tls/key.pem"}
    assert all(len(spec["name"]) <= 64 for spec in stack.data["configs"].values())
    assert not any(v.get("type") == "bind" for v in proxy.get("volumes", []))


def test_what_swarm_drops_silently_is_reported(stack):
    text = "\n".join(stack.warnings)
    assert "no-new-privileges" in text and "security_opt" in text
    assert "shm_size" in text
    assert "127.0.0.1" in text  # ports published on every address of a node
    assert "/srv/hotfix loses its options" in text


def test_dollars_are_escaped_for_a_second_interpolation():
    assert escape_dollars({"a": ["x$y", "$$KEPT"]}) == {"a": ["x$$y", "$$KEPT"]}


def test_the_yaml_names_its_warnings_and_parses_back(stack):
    text = stack_yaml(stack)
    assert text.startswith("# Derived by djship")
    assert "# warning: " in text
    assert yaml.safe_load(text)["services"]["web"]["image"] == OPTIONS.web_image


# --- rollouts --------------------------------------------------------------------------------

IMAGE = "reg:5000/shop-web:v2"


def task(image=IMAGE, current="Running 3 seconds ago", desired="Running", error=""):
    return Task("shop_web.1", image + "@sha256:" + "0" * 64, "n1", desired, current, error)


def test_converged_once_every_task_of_the_release_runs():
    assert judge_rollout({"State": "completed"}, [task(), task()], IMAGE, 2).state == CONVERGED
    assert judge_rollout(None, [task(), task()], IMAGE, 2).state == CONVERGED  # a first deploy
    assert judge_rollout({"State": "updating"}, [task(), task()], IMAGE, 2).state == WAITING
    starting = task(current="Starting 2 seconds ago")
    assert judge_rollout({"State": "completed"}, [task(), starting], IMAGE, 2).state == WAITING


def test_a_rollback_by_swarm_says_why():
    failed = task(
        current="Failed 1 second ago", desired="Shutdown", error="task: non-zero exit (1)"
    )
    status = {"State": "rollback_completed", "Message": "rollback completed"}
    verdict = judge_rollout(status, [failed, task("reg:5000/shop-web:v1")], IMAGE, 2)
    assert verdict.state == ROLLED_BACK
    assert "non-zero exit (1)" in verdict.reason and "rollback completed" in verdict.reason


def test_a_node_down_is_reported_and_the_database_node_down_refused():
    from djship.shipping.rollout import node_problems

    warnings, error = node_problems("n1 Ready\nn2 Down\n", db_node="n1")
    assert warnings == ["node n2 is not ready: its tasks run on the other nodes"]
    assert error is None
    assert (
        node_problems("n1 Down\nn2 Ready\n", db_node="n1")[1]
        == "the database's node n1 is not ready"
    )
    assert node_problems("n1 Ready\n", db_node="n1") == ([], None)
