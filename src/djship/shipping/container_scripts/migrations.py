"""Runs inside a release's container, under `python manage.py shell -c`: djship reads the
release's migrations and the database's state with the release's own Django, and migrates
once per release with a PostgreSQL advisory lock. Not imported by djship itself.

djship prepends `REQUEST = {...}` to this text. The answer is one line on stdout:
`DJSHIP-RESULT <json>`; anything else printed (migrate's progress) is for people.

Actions:
- graph: the migrations on disk (no database needed): every node, the leaves of each app,
  and for each migration whether it can be reversed (the first operation that cannot).
- plan: the migrations recorded as applied, and the plan that reaching `targets` (default:
  every leaf) would run, each step with its direction and reversibility.
- migrate: reach `targets` (default: every leaf), holding the advisory lock; in one
  transaction when every step allows it, so a failing release changes nothing.
"""

import json

from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

REQUEST = globals().get("REQUEST", {"action": "graph"})
# One key for every djship migration run of this database (pg_advisory_lock takes a bigint).
LOCK_KEY = 0x646A73686970  # "djship"


def first_irreversible(migration):
    """A description of the first operation that cannot be unapplied, or None."""
    for operation in migration.operations:
        if not operation.reversible:
            return operation.describe()
    return None


def describe(migration, backwards=False):
    return {
        "app": migration.app_label,
        "name": migration.name,
        "backwards": backwards,
        "atomic": migration.atomic,
        "irreversible": first_irreversible(migration),
    }


def graph():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    nodes = sorted(loader.graph.nodes)
    return {
        "nodes": [list(key) for key in nodes],
        "leaves": sorted([list(key) for key in loader.graph.leaf_nodes()]),
        "irreversible": {
            f"{app}.{name}": first_irreversible(loader.graph.nodes[(app, name)])
            for app, name in nodes
            if first_irreversible(loader.graph.nodes[(app, name)])
        },
    }


def targets_of(executor, request):
    targets = request.get("targets")
    if targets is None:
        return executor.loader.graph.leaf_nodes()
    return [(app, name) for app, name in targets]


def plan():
    executor = MigrationExecutor(connection)
    steps = executor.migration_plan(targets_of(executor, REQUEST))
    applied = MigrationRecorder(connection).applied_migrations()
    return {
        "applied": sorted([list(key) for key in applied]),
        "steps": [describe(migration, backwards) for migration, backwards in steps],
    }


def migrate():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    try:
        executor = MigrationExecutor(connection)
        targets = targets_of(executor, REQUEST)
        steps = executor.migration_plan(targets)
        atomic = all(migration.atomic for migration, _ in steps)
        if atomic:
            with transaction.atomic():
                run_migrate(targets, REQUEST.get("targets") is None)
        else:
            run_migrate(targets, REQUEST.get("targets") is None)
        return {"steps": [describe(m, b) for m, b in steps], "atomic": atomic}
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def run_migrate(targets, everything):
    """Django's own migrate command (post-migrate signals included), once per target app."""
    if everything:
        call_command("migrate", interactive=False, verbosity=1)
        return
    for app, name in targets:
        call_command("migrate", app, name or "zero", interactive=False, verbosity=1)


ACTIONS = {"graph": graph, "plan": plan, "migrate": migrate}
print("DJSHIP-RESULT " + json.dumps(ACTIONS[REQUEST["action"]]()), flush=True)
