"""A small, bounded load generator for fault tests: a few threads sending GETs to a local
address through keep-alive sessions, recording every outcome. Never anything but loopback."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

MAX_SECONDS = 120  # a hard bound, whatever the caller forgets (a caller may set its own)


@dataclass
class Load:
    url: str
    threads: int = 4
    max_seconds: float = MAX_SECONDS
    outcomes: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, of successful requests
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        host = urlsplit(self.url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"load tests target this machine only, not {host}")

    def _run(self) -> None:
        session = requests.Session()
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                status = session.get(self.url, timeout=10, verify=False).status_code
                self.outcomes[status] += 1
                if status == 200:
                    self.latencies.append(time.monotonic() - started)
            except requests.RequestException as error:
                self.outcomes[type(error).__name__] += 1
            time.sleep(0.005)

    def __enter__(self) -> Load:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=15)

    @property
    def ok(self) -> int:
        return self.outcomes[200]

    @property
    def failed(self) -> int:
        return sum(count for outcome, count in self.outcomes.items() if outcome != 200)


@dataclass
class Writer:
    """One client POSTing numbered rows in order (a view inserts each); it remembers which
    numbers it was told were written, for the test to find them in the database later."""

    url: str
    max_seconds: float = MAX_SECONDS
    acknowledged: list[int] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    _next: int = 1
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        Load(self.url, threads=0)  # the same loopback-only check

    def _run(self) -> None:
        session = requests.Session()
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            number = self._next
            self._next += 1
            try:
                response = session.post(self.url, data={"n": number}, timeout=10, verify=False)
                if response.status_code == 200:
                    self.acknowledged.append(number)
                else:
                    self.failures[response.status_code] += 1
            except requests.RequestException as error:
                self.failures[type(error).__name__] += 1
            time.sleep(0.02)

    def __enter__(self) -> Writer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=15)

    @property
    def last(self) -> int:
        return self.acknowledged[-1] if self.acknowledged else 0
