"""`djship reload`: ship the code into the running web container, trigger uWSGI's chain
reload, and wait until every worker runs the new code (uWSGI's stats server says which
worker processes are new), so that when the command returns, every answer is the hotfix's."""

from __future__ import annotations

import json
import time

from djship.console import Output
from djship.engine.compose import WEB_SERVICE, Compose
from djship.engine.runner import capture, feed
from djship.errors import DjshipError
from djship.shipping.hotfix import (
    STATS_SCRIPT,
    hotfix_files,
    install_script,
    pack,
    reload_progress,
    worker_pids,
)

# uwsgi.ini waits up to 60 s for a busy worker (worker-reload-mercy), one worker at a time.
SECONDS_PER_WORKER = 65


def read_stats(compose: Compose) -> dict | None:
    run = capture(compose.command("exec", "-T", WEB_SERVICE, "python", "-c", STATS_SCRIPT))
    return json.loads(run.stdout) if run.stdout.strip() else None


def ship_hotfix(compose: Compose, out: Output) -> None:
    root = compose.project.root
    files = hotfix_files(root)
    before = read_stats(compose)
    out.step(f"Shipping {len(files)} files to web and reloading its workers one by one")
    feed(compose.shell_in(WEB_SERVICE, install_script()), pack(root, files), what="shipping")
    if before is None:  # no stats server in this project's uwsgi.ini
        out.success("Reload triggered: workers pick up the new code one after the other.")
        return
    old = worker_pids(before)
    deadline = time.monotonic() + SECONDS_PER_WORKER * max(len(old), 1)
    with out.status("Reloading the workers") as line:
        while True:
            progress = reload_progress(read_stats(compose) or {}, old)
            line.update(f"Reloading: {progress.summary}")
            if progress.done:
                break
            if time.monotonic() > deadline:
                raise DjshipError(
                    f"the reload did not finish: {progress.summary}",
                    hint="A worker may be stuck in a long request; `djship logs web` says more.",
                )
            time.sleep(0.5)
    out.success(f"Hotfix live: all {progress.total} workers run the new code.")
