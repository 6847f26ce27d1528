"""How long djship takes to start: `djship --help` and a project command that fails fast
outside a project (no Docker involved), median of 20 runs each, with min and max."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 20


def timed(argv: list[str], cwd: str) -> list[float]:
    durations = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, capture_output=True)
        durations.append(time.perf_counter() - start)
    return durations


def main() -> None:
    djship = shutil.which("djship") or f"{sys.executable} -m djship"
    argv = djship.split()
    with tempfile.TemporaryDirectory() as empty:
        for label, args in (("djship --help", ["--help"]), ("djship ps (not a project)", ["ps"])):
            runs = timed([*argv, *args], empty)
            print(
                f"{label}: median {statistics.median(runs) * 1000:.0f} ms "
                f"(min {min(runs) * 1000:.0f}, max {max(runs) * 1000:.0f}, {RUNS} runs)"
            )


if __name__ == "__main__":
    main()
