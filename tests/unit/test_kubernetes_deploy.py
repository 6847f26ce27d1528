"""`djship deploy --target kubernetes` runs the kubectl plan in order, waits for each step,
and on a failure shows why (and undoes a failed rollout) and stops: checked against a
recording stand-in for kubectl, since no cluster runs on the test machines."""

from __future__ import annotations

import os
import stat

import pytest

from djship.console import Output
from djship.errors import DjshipError
from djship.export.cluster import apply_release
from djship.export.kubectl import Release, release_plan

RELEASE = Release(
    namespace="shop-prod",
    deployment="shop-web",
    job="shop-migrate-v2",
    database="shop-db",
    web_selector="app.kubernetes.io/component=web",
    migrate_seconds=600,
    rollout_seconds=300,
)
RECORDING_KUBECTL = """#!/bin/sh
echo "$*" >> "$KUBECTL_CALLS"
case "$*" in
  *"$KUBECTL_FAIL_ON"*) if [ -n "$KUBECTL_FAIL_ON" ]; then echo "boom: $*" >&2; exit 1; fi ;;
esac
case "$*" in
  *"logs --follow"*) echo 'Applying welcome.0002... OK'; echo 'DJSHIP-RESULT {"steps": []}' ;;
esac
exit 0
"""


@pytest.fixture
def kubectl(tmp_path, monkeypatch):
    binary = tmp_path / "bin" / "kubectl"
    binary.parent.mkdir()
    binary.write_text(RECORDING_KUBECTL)
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBECTL_CALLS", str(calls))
    monkeypatch.setenv("KUBECTL_FAIL_ON", "")
    return lambda: calls.read_text().splitlines()


def test_every_step_runs_in_order_after_the_cluster_answers(kubectl):
    apply_release(release_plan(RELEASE, "/p/kubernetes/overlays/prod"), Output(plain=True))
    calls = kubectl()
    assert calls[0] == "version --output=json"
    order = [next(i for i, c in enumerate(calls) if marker in c) for marker in (
        "stage=prepare", "statefulset/shop-db", "delete job", "stage=migrate",
        "logs --follow", "condition=Complete", "stage=rollout", "deployment/shop-web",
    )]  # fmt: skip
    assert order == sorted(order)


def test_a_failed_migration_stops_before_the_rollout(kubectl, monkeypatch):
    monkeypatch.setenv("KUBECTL_FAIL_ON", "condition=Complete")
    with pytest.raises(DjshipError, match="Checking that the Job completed failed: boom"):
        apply_release(release_plan(RELEASE, "/p/overlay"), Output(plain=True))
    calls = kubectl()
    assert any(c.startswith("--namespace shop-prod describe job/shop-migrate-v2") for c in calls)
    assert not any("stage=rollout" in c for c in calls)


def test_a_failed_rollout_is_undone(kubectl, monkeypatch):
    monkeypatch.setenv("KUBECTL_FAIL_ON", "rollout status deployment/shop-web")
    with pytest.raises(DjshipError, match="Waiting for the rollout failed"):
        apply_release(release_plan(RELEASE, "/p/overlay"), Output(plain=True))
    assert kubectl()[-1] == "--namespace shop-prod rollout undo deployment/shop-web"


def test_no_cluster_no_step(kubectl, monkeypatch):
    monkeypatch.setenv("KUBECTL_FAIL_ON", "version")
    with pytest.raises(DjshipError, match="no Kubernetes cluster answers"):
        apply_release(release_plan(RELEASE, "/p/overlay"), Output(plain=True))
    assert kubectl() == ["version --output=json"]
