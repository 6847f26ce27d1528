import json

from djship.engine.health import judge, parse_ps, services_with_healthcheck


def row(service, state="running", health="healthy", code=0):
    return {"Service": service, "State": state, "Health": health, "ExitCode": code}


def lines(*rows):
    return "\n".join(json.dumps(r) for r in rows)


def test_parses_json_lines_and_json_arrays():
    rows = [row("web"), row("db", health="starting")]
    assert parse_ps(lines(*rows)) == parse_ps(json.dumps(rows))
    assert [s.service for s in parse_ps(lines(*rows))] == ["web", "db"]
    assert parse_ps("") == []


def test_ready_when_every_expected_service_is_healthy_or_has_no_check():
    states = parse_ps(lines(row("web"), row("db"), row("proxy", health="")))
    verdict = judge(states, {"web", "db", "proxy"})
    assert verdict.ready and not verdict.failed


def test_no_health_reported_by_a_service_with_a_healthcheck_means_just_restarted():
    states = parse_ps(lines(row("web"), row("proxy", health="")))
    assert not judge(states, {"web", "proxy"}, frozenset({"web", "proxy"})).ready


def test_services_with_healthcheck_from_config():
    config = {
        "services": {
            "web": {"healthcheck": {"test": ["CMD", "true"]}},
            "off": {"healthcheck": {"disable": True}},
            "db": {},
        }
    }
    assert services_with_healthcheck(config) == {"web"}


def test_starting_is_not_ready_yet():
    verdict = judge(parse_ps(lines(row("web", health="starting"), row("db"))), {"web", "db"})
    assert not verdict.ready and not verdict.failed
    assert "web: starting" in verdict.summary


def test_unhealthy_crashed_and_restarting_are_failures():
    states = parse_ps(
        lines(
            row("web", health="unhealthy"),
            row("db", state="exited", health="", code=1),
            row("proxy", state="restarting", health=""),
        )
    )
    verdict = judge(states, {"web", "db", "proxy"})
    assert verdict.failed == ["db", "proxy", "web"]
    assert "db: exited (1)" in verdict.summary


def test_missing_service_is_not_ready():
    verdict = judge(parse_ps(lines(row("db"))), {"web", "db"})
    assert not verdict.ready and "web: not created" in verdict.summary


def test_a_one_off_job_that_finished_well_counts_as_ready():
    verdict = judge(parse_ps(lines(row("migrate", state="exited", health="", code=0))), {"migrate"})
    assert verdict.ready
