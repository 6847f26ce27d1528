"""`djship deps` over real lock files (tests/data/locks), for both bases."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from djship.dependencies.index import PackageIndex
from djship.dependencies.lockfiles import parse_requirements, read_lock
from djship.dependencies.platforms import TARGETS, target_for
from djship.dependencies.sysdeps import TOOLCHAIN, analyse, load_knowledge, parse_knowledge
from djship.errors import DjshipError

DATA = Path(__file__).resolve().parents[1] / "data"
LOCKS = {
    "uv": DATA / "locks" / "uv" / "uv.lock",
    "pipenv": DATA / "locks" / "pipenv" / "Pipfile.lock",
    "requirements": DATA / "locks" / "requirements" / "requirements.txt",
}
INDEX = PackageIndex(DATA / "index-cache", offline=True)


def report_for(lock: str, base: str, **kwargs):
    pinned = read_lock(LOCKS[lock])

    def files_of(dist):
        return dist.files if dist.files is not None else INDEX.files(dist.name, dist.version)

    return analyse(pinned, TARGETS[base], load_knowledge(), files_of, **kwargs)


def by_name(report):
    return {decision.name: decision for decision in report.decisions}


# --- wheel tags ---------------------------------------------------------------------------

DEBIAN, ALPINE = TARGETS["debian"], TARGETS["alpine"]


@pytest.mark.parametrize(
    ("wheel", "debian", "alpine"),
    [
        ("x-1-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True, False),
        ("x-1-cp313-cp313-manylinux_2_41_x86_64.whl", True, False),
        ("x-1-cp313-cp313-manylinux_2_42_x86_64.whl", False, False),  # newer glibc than 2.41
        ("x-1-cp313-cp313-musllinux_1_2_x86_64.whl", False, True),
        ("x-1-cp39-abi3-manylinux_2_28_x86_64.whl", True, False),
        ("x-1-py3-none-any.whl", True, True),
        ("x-1-cp312-cp312-manylinux_2_17_x86_64.whl", False, False),  # another Python
        ("x-1-cp313-cp313-manylinux_2_17_aarch64.whl", False, False),  # another CPU
        ("x-1-cp313-cp313-win_amd64.whl", False, False),
    ],
)
def test_wheel_fitness_from_tags(wheel, debian, alpine):
    assert DEBIAN.fits(wheel) is debian
    assert ALPINE.fits(wheel) is alpine


def test_architecture_is_part_of_the_target():
    assert target_for("debian", "aarch64").fits("x-1-cp313-cp313-manylinux_2_17_aarch64.whl")
    with pytest.raises(DjshipError, match="unknown architecture"):
        target_for("debian", "sparc")


# --- lock formats -------------------------------------------------------------------------


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_lock_format_gives_names_and_versions(lock):
    pinned = {p.name: p.version for p in read_lock(LOCKS[lock])}
    assert pinned["psycopg2"] == "2.9.10" and pinned["lxml"] == "5.2.2"
    assert pinned["django"].startswith("5.2.")


def test_uv_lock_lists_files_the_others_do_not():
    assert all(p.files for p in read_lock(LOCKS["uv"]))
    assert all(p.files is None for p in read_lock(LOCKS["pipenv"]))


def test_unpinned_requirement_is_refused_with_its_line():
    with pytest.raises(DjshipError, match="line 3: not pinned"):
        parse_requirements("django==5.2.1 \\\n    --hash=sha256:x\nrequests>=2\n")


def test_offline_without_cache_is_a_clear_error(tmp_path):
    with pytest.raises(DjshipError, match="not in the index cache"):
        PackageIndex(tmp_path, offline=True).files("django", "5.2")


# --- decisions ----------------------------------------------------------------------------


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_debian_decisions(lock):
    decisions = by_name(report_for(lock, "debian"))
    psycopg2 = decisions["psycopg2"]
    assert psycopg2.from_source
    assert {"gcc", "libc6-dev", "libpq-dev"} <= set(psycopg2.build)
    assert psycopg2.runtime == ("libpq5",)
    assert decisions["lxml"].from_source  # 5.2.2 predates CPython 3.13 wheels
    assert {"libxml2-dev", "libxslt1-dev"} <= set(decisions["lxml"].build)
    assert not decisions["pillow"].from_source and decisions["pillow"].build == ()
    magic = decisions["python-magic"]
    assert not magic.from_source and magic.runtime == ("libmagic1t64",)  # even with a wheel
    assert decisions["django"].build == ()  # no translations in this project


def test_alpine_uses_musllinux_wheels_and_apk_names():
    decisions = by_name(report_for("uv", "alpine"))
    assert decisions["pillow"].wheel and "musllinux" in decisions["pillow"].wheel
    assert decisions["cryptography"].wheel and "musllinux" in decisions["cryptography"].wheel
    assert {"gcc", "musl-dev", "libpq-dev"} <= set(decisions["psycopg2"].build)
    assert decisions["psycopg2"].runtime == ("libpq",)
    assert decisions["python-magic"].runtime == ("libmagic",)


def test_a_rust_package_with_a_wheel_needs_no_toolchain():
    decisions = by_name(report_for("uv", "debian"))
    assert decisions["cryptography"].wheel and decisions["cryptography"].build == ()


def test_gdal_always_builds_against_the_system_gdal():
    gdal = by_name(report_for("uv", "debian"))["gdal"]
    assert gdal.from_source and "libgdal-dev" in gdal.build
    assert {"libgeos-c1t64", "libproj25"} <= set(gdal.runtime)


def test_report_totals_split_build_and_runtime():
    report = report_for("uv", "debian")
    assert "gcc" in report.build_packages and "gcc" not in report.runtime_packages
    assert "libpq5" in report.runtime_packages
    assert not any(p.endswith("-dev") for p in report.runtime_packages)


def test_forcing_a_source_build():
    decisions = by_name(report_for("uv", "debian", no_binary=frozenset({"pyyaml"})))
    assert decisions["pyyaml"].from_source and "libyaml-dev" in decisions["pyyaml"].build


def test_gettext_only_for_projects_with_translations():
    decisions = by_name(report_for("uv", "debian", has_files=lambda pattern: "locale" in pattern))
    assert decisions["django"].build == ("gettext",)


def test_unknown_source_builds_are_flagged():
    pinned = [p for p in read_lock(LOCKS["uv"]) if p.name == "django"]
    mystery = type(pinned[0])("mystery", "1.0", ("mystery-1.0.tar.gz",))
    report = analyse([mystery], DEBIAN, load_knowledge(), lambda d: d.files)
    assert [d.name for d in report.unknown] == ["mystery"]


def test_no_wheel_and_no_sdist_is_an_error():
    mystery = read_lock(LOCKS["uv"])[0].__class__(
        "winonly", "1.0", ("winonly-1.0-cp313-cp313-win_amd64.whl",)
    )
    with pytest.raises(DjshipError, match="no wheel for CPython 3.13"):
        analyse([mystery], DEBIAN, load_knowledge(), lambda d: d.files)


# --- the knowledge file -------------------------------------------------------------------

REQUIRED = {
    "psycopg2",
    "psycopg-c",
    "mysqlclient",
    "pillow",
    "lxml",
    "cffi",
    "cryptography",
    "python-ldap",
    "pycairo",
    "gdal",
    "uwsgi",
    "argon2-cffi-bindings",
    "pyyaml",
    "psutil",
    "reportlab",
    "pycurl",
    "python-magic",
    "django",
    "tzdata",
    TOOLCHAIN,
}


def test_the_knowledge_covers_what_django_projects_use():
    assert set(load_knowledge()) >= REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_entry_is_consistent_for_both_bases(name):
    entry = load_knowledge()[name]
    assert entry.reason
    assert set(entry.build) in (set(), {"debian", "alpine"})
    assert set(entry.runtime) in (set(), {"debian", "alpine"})
    for packages in (*entry.build.values(), *entry.runtime.values()):
        assert packages and all(p == p.strip() and " " not in p for p in packages)
    if entry.runtime:
        assert not any(p.endswith("-dev") for pkgs in entry.runtime.values() for p in pkgs)


def test_a_project_can_add_entries(tmp_path):
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "system-packages.toml").write_text(
        '[mystery]\nreason = "links libmystery"\nbuild.debian = ["libmystery-dev"]\n'
    )
    assert load_knowledge(tmp_path)["mystery"].build["debian"] == ("libmystery-dev",)


def test_a_bad_entry_is_refused():
    with pytest.raises(DjshipError, match="unknown keys"):
        parse_knowledge('[x]\nreason = "r"\nbiuld.debian = ["y"]\n', "test.toml")


# --- the command --------------------------------------------------------------------------


def test_deps_json_from_the_command_line(tmp_path):
    project = tmp_path / "shop"
    result = subprocess.run(
        [sys.executable, "-m", "djship", "new", "shop", "--lock", "pipenv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    shutil.copy(LOCKS["pipenv"], project / "Pipfile.lock")
    cache = tmp_path / "cache" / "djship" / "index"
    shutil.copytree(DATA / "index-cache", cache)
    result = subprocess.run(
        [sys.executable, "-m", "djship", "deps", "--json", "--offline"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["target"]["base"] == "debian"
    assert "libpq-dev" in data["build_packages"] and "libpq5" in data["runtime_packages"]


def test_the_unknown_hint_names_the_package_and_the_file_to_edit():
    from djship.dependencies.report import unknown_hint

    mystery = read_lock(LOCKS["uv"])[0].__class__("mystery", "1.0", ("mystery-1.0.tar.gz",))
    report = analyse([mystery], DEBIAN, load_knowledge(), lambda d: d.files)
    hint = unknown_hint(report)
    assert "mystery" in hint and "environments/system-packages.toml" in hint
    assert "[mystery]" in hint and "build.debian" in hint
