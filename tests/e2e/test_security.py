"""`djship audit` and `djship refresh` on a real engine: the audit of this machine's engine
(each finding names its CVE, the installed and the fixed version, the exit code follows the
severities), the audit of a live release's image (its pending security updates are real:
each one is checked against the image's own dpkg and the base image), and a refresh of an
up-to-date release that changes nothing, then one forced through the normal deploy under a
little load, with no failed request."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
import requests

from djship.security.versions import debian_at_least
from tests.e2e.conftest import GeneratedProject, create_prod_project
from tests.e2e.load import Load
from tests.e2e.test_ship_host import commit, git, remove_releases

PROD = ("--env", "prod")
EXIT_CODES = {"error": 2, "warning": 1, "note": 0}
TABLE_COMPONENTS = {"engine", "containerd", "runc", "kernel"}


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def image_id(name: str) -> str:
    return docker("image", "inspect", "-f", "{{.Id}}", name)


def dpkg_versions(image: str) -> dict[str, str]:
    listing = docker(
        "run", "--rm", "--entrypoint", "dpkg-query", "--network", "none", image,
        "-W", "-f", "${Package}\t${Version}\n",
    )  # fmt: skip
    return dict(line.split("\t", 1) for line in listing.splitlines())


def audit(project: GeneratedProject, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    result = project.djship("audit", *args, "--json", check=False, timeout=300)
    assert result.returncode in (0, 1, 2), result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout), result


def releases(project: GeneratedProject) -> dict[str, str]:
    listing = json.loads(project.djship("releases", "--json").stdout)
    return {row["version"]: row["status"] for row in listing}


@pytest.fixture(scope="module")
def live(image_env, tmp_path_factory):
    """A production project with one release, deployed on this host."""
    base = tmp_path_factory.mktemp("security")
    project = GeneratedProject(base / "e2e_sec", "e2e_sec", image_env)
    builds: list[str] = []
    try:
        project = create_prod_project(base, image_env, "e2e_sec")
        git(project, "init", "-q")
        commit(project, "v1")
        version = project.djship("release", *PROD).stdout.strip().splitlines()[-1]
        builds.append(image_id("e2e_sec-web:prod"))  # the unlabelled build under the release
        project.djship("deploy", *PROD)
        project.version = version
        yield project
    finally:
        project.teardown()
        remove_releases(project)
        for build in builds:
            subprocess.run(["docker", "image", "rm", build], capture_output=True)


def test_audit_of_this_machine_engine(live):
    report, result = audit(live, "--host-only")
    findings = report["findings"]
    worst = max((EXIT_CODES[f["severity"]] for f in findings), default=0)
    assert result.returncode == report["exit_code"] == worst

    server = json.loads(docker("version", "--format", "{{json .Server}}"))
    assert server["Version"] in report["facts"]["engine"]
    assert report["facts"]["kernel"] == docker("info", "--format", "{{.KernelVersion}}")
    assert re.match(r"\d{4}-\d\d-\d\d$", report["table_reviewed"])

    # Every component was compared with every entry of the table for it.
    checked = {check["subject"]: check for check in report["checked"]}
    kernel_known = "kernel" in checked
    assert set(checked) | ({"kernel"} if not kernel_known else set()) == TABLE_COMPONENTS
    runc = next(c for c in server["Components"] if c["Name"] == "runc")
    assert checked["runc"]["version"] in (runc["Version"], runc["Details"]["GitCommit"])
    assert "CVE-2024-21626" in checked["runc"]["results"]
    assert "CVE-2024-41110" in checked["engine"]["results"]
    if not kernel_known:
        assert any(f["rule"] == "kernel-not-checked" for f in findings)

    # Each vulnerability finding names its CVE, the installed and the fixed version.
    vulnerable = [f for f in findings if f["status"] in ("affected", "may be affected")]
    for finding in vulnerable:
        assert re.fullmatch(r"CVE-\d{4}-\d{4,}", finding["rule"]), finding
        assert finding["installed"] and finding["fixed"], finding
        assert finding["source"].startswith("https://"), finding
        assert checked[finding["subject"].split()[0]]["results"][finding["rule"]] in (
            "affected", "may be affected",
        )  # fmt: skip
    assert any(f["rule"].startswith("machine-") for f in findings)  # bare metal or VM

    if runc["Details"]["GitCommit"] == "1.1.5+ds1-1+deb12u1":  # Debian 12's runc, as here
        assert checked["runc"]["results"]["CVE-2024-21626"] == "fixed by the distribution"
        for cve in ("CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"):
            finding = next(f for f in vulnerable if f["rule"] == cve)
            assert finding["severity"] == "error" and "1.2.8" in finding["fixed"]
        assert result.returncode == 2

    # The same report for people: the CVEs, their fixed versions, the advisories.
    text = live.djship("audit", "--host-only", check=False, timeout=300)
    assert text.returncode == result.returncode
    for finding in vulnerable:
        assert f"[{finding['rule']}]" in text.stdout and finding["source"] in text.stdout


def test_audit_of_the_live_release_image(live):
    report, result = audit(live)
    facts = report["facts"]
    image = f"e2e_sec-web:{live.version}"
    assert facts["image"] == f"{image} (live release {live.version})"
    assert facts["image os"].startswith("debian")
    assert facts["base image"].startswith(live.env["PYTHON_IMAGE"])
    assert "days ago" in facts["base image"]
    assert (
        result.returncode
        == report["exit_code"]
        == max(EXIT_CODES[f["severity"]] for f in report["findings"])
    )
    mine = [f for f in report["findings"] if f["subject"] == f"image {image}"]

    # Pending security updates, checked against the image's own dpkg and its base image.
    installed = dpkg_versions(image)
    base_packages = dpkg_versions(live.env["PYTHON_IMAGE"])
    for finding in mine:
        if finding["rule"] != "image-security-updates":
            continue
        assert finding["severity"] == "warning" and finding["details"]
        from_base = 0
        for line in finding["details"]:
            name, old, _, new = line.split()
            assert installed[name] == old and old != new and debian_at_least(new, old)
            from_base += name in base_packages
        assert f"{from_base} of them in the base image" in finding["message"]
    assert not any(f["rule"] == "image-updates-not-checked" for f in mine)  # mirror answers

    # Python: checked against an advisory source, or said not to be; never silently clean.
    python = facts["python advisories"]
    not_checked = [f for f in mine if f["rule"] == "python-not-checked"]
    if python.startswith("not checked"):
        assert len(not_checked) == 1 and not_checked[0]["severity"] == "warning"
        assert report["exit_code"] >= 1
    else:
        assert re.match(r"\d+ of \d+ distributions checked against (pypi|osv)", python)
        assert not not_checked


def test_refresh_of_an_up_to_date_release_changes_nothing(live):
    before = releases(live)
    live_id = image_id(f"e2e_sec-web:{live.version}")
    web = live.compose("ps", "-q", "web", env_name="prod").stdout.split()
    started = time.monotonic()
    result = live.djship("refresh", *PROD, timeout=600)
    elapsed = time.monotonic() - started
    # No registry answers here: the local base is used, the packages come from the same
    # Debian mirror as the release's, at the same versions.
    assert f"Base image {live.env['PYTHON_IMAGE']}: not pulled" in result.stderr
    assert "OS packages: unchanged" in result.stderr
    assert f"Release {live.version} is up to date" in result.stderr
    assert "-refresh-" not in result.stdout  # no new version (stdout ends with it when made)
    assert releases(live) == before
    assert image_id("e2e_sec-web:prod") == live_id  # Compose still names the live release
    assert live.compose("ps", "-q", "web", env_name="prod").stdout.split() == web
    assert requests.get(live.url, timeout=10, verify=False).status_code == 200
    assert elapsed < 300


def test_a_forced_refresh_ships_through_the_normal_deploy_then_other_code_is_refused(live):
    with Load(live.url, threads=2, max_seconds=300) as load:
        result = live.djship("refresh", *PROD, "--force", timeout=600)
        time.sleep(1)
    version = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(rf"{live.version}-refresh-\d{{8}}-\d{{6}}", version)
    assert f"Released {version}" in result.stderr and f"a refresh of {live.version}" in (
        result.stderr
    )
    assert f"Release {version} is live (host)" in result.stderr
    status = releases(live)
    assert status[version] == "live" and status[live.version] == ""
    assert load.ok > 20 and load.failed == 0, load.outcomes
    report, _ = audit(live)
    assert report["facts"]["image"] == f"e2e_sec-web:{version} (live release {version})"

    # New code is not a refresh: refused before anything is built.
    (live.root / "welcome" / "extra.py").write_text("X = 1\n")
    commit(live, "v2")
    refused = live.djship("refresh", *PROD, check=False)
    assert refused.returncode == 1 and "is not release" in refused.stderr
    assert "djship release" in refused.stderr and "Traceback" not in refused.stderr
    assert releases(live) == status
