"""Release, ledger, migration and backup decisions, without an engine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from djship.engine.docker import Docker
from djship.engine.health import health_window, seconds
from djship.errors import DjshipError
from djship.shipping.backups import backup_path, list_backups
from djship.shipping.ledger import (
    DEPLOYED,
    FAILED,
    RELEASED,
    ROLLED_BACK,
    Event,
    Ledger,
    live_version,
    parse_objects,
    previous_live,
    summarize,
)
from djship.shipping.migrations import (
    Graph,
    Step,
    first_irreversible,
    parse_result,
    refusal,
    reversal,
    script,
)
from djship.shipping.release import ReleaseFacts, local_image, registry_image
from djship.shipping.version import Source, decide_version, is_valid_version

NOW = datetime(2026, 12, 2, 1, 2, 3, tzinfo=UTC)


# --- versions -------------------------------------------------------------------------------


def test_a_clean_commit_is_its_own_version():
    assert decide_version(Source("0123456789abcdef0123"), NOW) == "0123456789ab"


def test_a_dirty_tree_is_marked_and_timestamped():
    assert decide_version(Source("0123456789abcdef", dirty=True), NOW) == (
        "0123456789ab-dirty-20261202-010203"
    )


def test_outside_git_the_build_time_names_the_release():
    version = decide_version(Source(None), NOW)
    assert version == "20261202-010203" and is_valid_version(version)


def test_image_names():
    assert local_image("shop", "abc") == "shop-web:abc"
    assert registry_image("10.0.0.1:5000/", "shop", "abc") == "10.0.0.1:5000/shop-web:abc"


def test_release_labels_carry_version_commit_and_migrations():
    graph = Graph(frozenset(), (("welcome", "0002_b"), ("auth", "0012_x")), {})
    facts = ReleaseFacts("shop", "abc", "2026-12-02T01:02:03+00:00", Source("abcdef", False), graph)
    labels = facts.labels()
    assert labels["org.opencontainers.image.version"] == "abc"
    assert labels["org.opencontainers.image.revision"] == "abcdef"
    assert labels["io.djship.migrations"] == '{"auth": "0012_x", "welcome": "0002_b"}'


# --- the ledger -----------------------------------------------------------------------------


def event(kind, version, minute, **details):
    return Event(kind, version, f"2026-12-02T01:{minute:02d}:00.000Z", "host", details)


HISTORY = [
    event(RELEASED, "v1", 0, image_id="sha256:" + "1" * 64),
    event(DEPLOYED, "v1", 1),
    event(RELEASED, "v2", 2),
    event(DEPLOYED, "v2", 3, previous="v1"),
    event(RELEASED, "v3", 4),
    event(FAILED, "v3", 5, reason="never healthy"),
]


def test_the_live_release_is_the_last_deployed_one():
    assert live_version(HISTORY) == "v2"
    assert previous_live(HISTORY) == "v1"


def test_after_a_rollback_the_rolled_back_release_is_not_a_rollback_target():
    after = [*HISTORY, event(DEPLOYED, "v1", 6), event(ROLLED_BACK, "v2", 6, to="v1")]
    assert live_version(after) == "v1"
    assert previous_live(after) is None
    states = {row.version: row.status for row in summarize(after)}
    assert states == {"v1": "live", "v2": "rolled back", "v3": "failed"}


def test_summary_is_newest_first_with_when():
    rows = summarize(HISTORY)
    assert [row.version for row in rows] == ["v3", "v2", "v1"]
    assert rows[0].status_at == "2026-12-02T01:05:00.000Z"
    assert rows[2].image_id.startswith("sha256:1")


def test_events_survive_the_round_trip_through_labels():
    ledger = Ledger("shop", Docker(), "volume")
    command, data = ledger.record(HISTORY[0])
    assert data is None and command.argv[:3] == ["docker", "volume", "create"]
    label = next(arg for arg in command.argv if arg.startswith("io.djship.event="))
    inspect = f'[{{"Labels": {{"io.djship.event": {json_quote(label.split("=", 1)[1])}}}}}]'
    assert parse_objects(inspect) == [HISTORY[0]]


def test_swarm_ledger_entries_are_configs_read_from_stdin():
    command, data = Ledger("shop", Docker("unix:///run/m.sock"), "config").record(HISTORY[1])
    assert command.argv[:3] == ["docker", "config", "create"] and command.argv[-1] == "-"
    assert command.env == {"DOCKER_HOST": "unix:///run/m.sock"}
    assert b'"kind": "deployed"' in data
    name = command.argv[-2]
    assert len(name) <= 64 and name.startswith("shop-ledger-")


def test_foreign_or_damaged_objects_are_ignored():
    assert parse_objects('[{"Labels": {"io.djship.event": "not json"}}, {"Labels": null}]') == []


def json_quote(text: str) -> str:
    import json

    return json.dumps(text)


# --- migrations -----------------------------------------------------------------------------


def graph(*keys, leaves=None, irreversible=None):
    return Graph(frozenset(keys), tuple(leaves or keys), irreversible or {})


V1 = graph(("auth", "0012"), ("welcome", "0001"), leaves=[("auth", "0012"), ("welcome", "0001")])
V2 = graph(
    ("auth", "0012"), ("welcome", "0001"), ("welcome", "0002"), ("notes", "0001"),
    leaves=[("auth", "0012"), ("welcome", "0002"), ("notes", "0001")],
)  # fmt: skip


def test_a_rollback_names_what_the_target_lacks_and_where_to_migrate_back():
    applied = V2.nodes | {("old", "0001_squashed_away")}
    needed = reversal(applied, live=V2, target=V1)
    assert needed.missing == (("notes", "0001"), ("welcome", "0002"))
    assert needed.targets == (("notes", None), ("welcome", "0001"))  # None: migrate notes zero
    message = refusal(needed, "v1").message
    assert "notes.0001, welcome.0002" in message


def test_nothing_to_reverse_when_the_target_knows_every_applied_migration():
    assert reversal(V1.nodes, live=V2, target=V2).missing == ()


def test_the_first_irreversible_backwards_step_blocks_the_rollback():
    steps = [
        Step("welcome", "0003", True, True, None),
        Step("welcome", "0002", True, True, "Raw Python operation"),
    ]
    assert first_irreversible(steps).label == "welcome.0002"
    assert first_irreversible(steps[:1]) is None


def test_latest_migration_per_app():
    assert V2.latest() == {"auth": "0012", "notes": "0001", "welcome": "0002"}


def test_the_script_answer_is_found_among_other_output_or_the_failure_shown():
    assert parse_result('Applying x... OK\nDJSHIP-RESULT {"steps": []}\n', "x") == {"steps": []}
    with pytest.raises(DjshipError, match="OperationalError: no db"):
        parse_result("Traceback...\nOperationalError: no db\n", "reading")


def test_the_script_binds_its_request_as_json():
    text = script({"action": "plan", "targets": [["notes", None]]})
    namespace: dict = {}
    exec(text.split("\n", 2)[0] + "\n" + text.split("\n", 2)[1], namespace)
    assert namespace["REQUEST"] == {"action": "plan", "targets": [["notes", None]]}


# --- backups and durations -------------------------------------------------------------------


def test_backups_are_named_and_listed_newest_first(tmp_path: Path):
    older = backup_path(tmp_path, "prod", "v1", NOW.replace(hour=0))
    newer = backup_path(tmp_path, "prod", "manual", NOW)
    assert newer.name == "prod-20261202-010203-manual.dump"
    older.parent.mkdir()
    for path in (older, newer, tmp_path / "backups" / "notes.txt"):
        path.write_bytes(b"PGDMP")
    found = list_backups(tmp_path)
    assert [(b.environment, b.label, b.size) for b in found] == [
        ("prod", "manual", 5),
        ("prod", "v1", 5),
    ]


def test_durations_and_the_health_window():
    assert seconds("1m30s") == 90 and seconds("5s") == 5 and seconds(5_000_000_000) == 5
    check = {"interval": "5s", "timeout": "4s", "retries": 3, "start_period": "30s"}
    assert health_window(check) == 30 + 3 * 9
