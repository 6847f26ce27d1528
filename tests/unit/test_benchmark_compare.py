"""benchmarks/compare.py's deciding half: what it measures, how it reads the runs, and the
nginx configurations it writes. A full run takes about 45 minutes: a key missing from its
tables, or a template line the extra nginx cannot start with, must fail here, not at the end."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import compare  # noqa: E402

PROXY_TEMPLATE = (
    ROOT / "src/djship/scaffold/templates/project/environments/prod/nginx-tls-proxy.conf.template"
)
ADDRESSES = {
    "web": "172.18.0.3",
    "reference": "172.18.0.4",
    "proxy": "172.18.0.5",
    "disk-nginx": "172.17.0.2",
}


def targets() -> list[compare.Target]:
    ports = compare.Ports(*range(9001, 9008))
    return compare.plan_targets(ports, "welcome/style.0123456789ab.css", ADDRESSES)


def fake_run(rps: float, p50: float, p99: float) -> compare.Run:
    return compare.Run(rps, p50, p99, int(rps * 15), "", {"web": 1.0, "wrk": 0.5}, [3.0, 2.0])


def fake_report() -> dict:
    """A report as compare() assembles it, from made-up runs: two rounds of every path."""
    planned = targets()
    runs = {t.key: [fake_run(1000 + i, 10.0, 25.0 + i) for i in range(2)] for t in planned}
    runs["page-proxy"] = [fake_run(2600, 12.0, 24.0), fake_run(2500, 12.5, 25.0)]
    runs["page-gunicorn-proxy"] = [fake_run(1500, 20.0, 60.0), fake_run(1400, 21.0, 70.0)]
    return {
        "machine": {
            "cores": 2,
            "kernel": "6",
            "docker": "20",
            "compose": "2",
            "wrk": "wrk",
            "rounds": 2,
            "warmup_s": 1,
            "load_average_start": 0.1,
            "load_average_end": 0.2,
        },  # fmt: skip
        "stacks": {"djship": "uWSGI", "reference": "gunicorn", "both": "Django"},
        "paths": {t.key: compare.summarise_path(t, runs[t.key]) for t in planned},
        "ratios": compare.ratios(runs),
        "rebuild_s": {
            "djship": compare.spread([1.8, 1.9], 1),
            "reference": compare.spread([1.8, 2.0], 1),
        },  # fmt: skip
        "images": {
            "base": "python",
            "base_mb": 181,
            "djship": {"image": "a", "mb": 231, "added_mb": 50},
            "reference": {"image": "b", "mb": 233, "added_mb": 52},
        },  # fmt: skip
    }


def test_every_path_named_in_the_tables_is_measured():
    keys = {t.key for t in targets()}
    named = {key for _, top, bottom in compare.RATIOS for key in (top, bottom)}
    named |= set(compare.TAIL_PATHS) | {key for pair in compare.PAIRED_P99 for key in pair}
    named |= {key for ours, theirs, _ in compare.THROUGHPUT for key in (ours, theirs)}
    assert named <= keys
    assert len(keys) == len(targets())


def test_both_stacks_are_measured_through_their_proxy():
    by_key = {t.key: t for t in targets()}
    assert by_key["page-gunicorn-proxy"].url == "https://127.0.0.1:9007/"
    assert by_key["css-whitenoise-proxy"].workers_of == "reference"
    assert by_key["page-proxy"].url.startswith("https://127.0.0.1:9002/")


def test_the_throughput_goal_through_the_proxies_is_judged_per_round():
    rows = {row["goal"]: row for row in compare.goals(fake_report())}
    through = next(row for goal, row in rows.items() if "through nginx with TLS: djship" in goal)
    # rounds: 2600/1500 = 1.73, 2500/1400 = 1.79: the median 1.76
    assert through["value"] == "1.76 ×"
    assert through["met"] is True
    p99 = next(row for goal, row in rows.items() if "gunicorn through nginx (HTTPS)'s" in goal)
    assert p99["met"] is True


def test_the_report_renders_every_path():
    text = compare.markdown(fake_report())
    assert "reference: gunicorn through nginx (HTTPS)" in text
    assert "| reference-proxy |" in text  # its CPU, in the CPU table's header


@pytest.mark.parametrize("skeleton", ["nginx-disk.conf", "nginx-proxy.conf"])
def test_the_extra_nginx_gets_the_proxy_tls_and_log_lines(skeleton):
    conf = compare.nginx_conf(
        (compare.REFERENCE_SOURCES / skeleton).read_text(), PROXY_TEMPLATE.read_text()
    )
    assert "# @" not in conf
    assert "${" not in conf
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "ssl_stapling off;" in conf
    assert "access_log /dev/stdout combined buffer=32k flush=1s;" in conf


def test_an_unknown_template_variable_stops_the_run():
    with pytest.raises(KeyError):
        compare.fill_template_variables("ssl_something ${NOT_KNOWN};")


def test_the_extra_nginx_gets_the_prod_proxy_limits():
    config = {"services": {"proxy": {"deploy": {"resources": {"limits": {
        "cpus": 1.0, "memory": "268435456"}}}}}}  # fmt: skip
    assert compare.proxy_limits(config) == ("1.0", "268435456")
    assert compare.proxy_limits({"services": {"proxy": {}}}) == ("1", "256m")


def test_the_floor_is_measured_where_the_proxy_is_and_explained():
    by_key = {t.key: t for t in targets()}
    assert by_key["floor-https"].url == "https://127.0.0.1:9005/floor"  # the disk nginx
    assert by_key["floor-https-bridge"].url == "https://172.17.0.2/floor"
    assert by_key["css-proxy-bridge"].url.startswith("https://172.18.0.5/static/")
    assert "location = /floor" in (compare.REFERENCE_SOURCES / "nginx-disk.conf").read_text()
    report = fake_report()
    report["paths"]["floor-https"]["p99_ms"]["median"] = 50.0  # 5 x its p50 of 10 ms
    report["paths"]["floor-https-bridge"]["p99_ms"]["median"] = 26.0
    text = compare.markdown(report)
    assert "through the published port" in text
    assert "(5.0 ×)" in text
    assert "(2.6 ×) at its container's address" in text
    assert "no server reaches" not in text  # one floor within 3 x: no such claim


def test_a_report_saved_before_the_floor_renders_without_it():
    report = fake_report()
    for key in ("floor-https", "floor-https-bridge"):
        del report["paths"][key]
    assert "The floor" not in compare.markdown(report)
