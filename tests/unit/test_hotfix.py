"""`djship reload` waits for uWSGI's chain reload to replace every worker: decided from the
stats server's JSON (the shape uWSGI 2.0 writes), before and during the reload."""

from __future__ import annotations

from djship.shipping.hotfix import STATS_SCRIPT, STATS_SOCKET, reload_progress, worker_pids


def stats(*workers: tuple[int, str, int]) -> dict:
    return {
        "version": "2.0.28",
        "workers": [
            {"id": n, "pid": pid, "status": status, "accepting": accepting, "requests": 7}
            for n, (pid, status, accepting) in enumerate(workers, start=1)
        ],
    }


BEFORE = stats((101, "idle", 1), (102, "busy", 1), (103, "idle", 1), (0, "cheap", 0))


def test_the_workers_before_are_those_serving_not_the_cheap_ones():
    assert worker_pids(BEFORE) == {101, 102, 103}


def test_the_reload_is_done_only_when_every_worker_is_new_and_accepting():
    old = worker_pids(BEFORE)
    halfway = reload_progress(stats((201, "idle", 1), (102, "busy", 1), (103, "idle", 1)), old)
    assert not halfway.done and halfway.summary == "1/3 workers on the new code"
    loading = reload_progress(stats((201, "idle", 1), (202, "idle", 1), (203, "idle", 0)), old)
    assert not loading.done  # the last one is still importing the app
    done = reload_progress(stats((201, "idle", 1), (202, "busy", 1), (203, "idle", 1)), old)
    assert done.done and done.summary == "3/3 workers on the new code"


def test_a_worker_the_cheaper_subsystem_stops_meanwhile_is_not_waited_for():
    old = worker_pids(BEFORE)
    progress = reload_progress(stats((201, "idle", 1), (202, "idle", 1), (0, "cheap", 0)), old)
    assert progress.done and progress.total == 2


def test_no_stats_is_never_done():
    assert not reload_progress({}, {101}).done


def test_the_stats_script_reads_the_socket_uwsgi_ini_names():
    compile(STATS_SCRIPT, "stats", "exec")
    assert STATS_SOCKET in STATS_SCRIPT
