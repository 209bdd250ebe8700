"""Memory measurement shared by the benchmarks: peak resident set per step and overall."""

from __future__ import annotations

import os
import resource
import threading
import time
from typing import Self


class RssSampler:
    """Samples this process's resident set every ``interval`` seconds; keeps the peak
    seen during each named step."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.step: str | None = None
        self.step_peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * self.page

    def _run(self) -> None:
        while not self._stop.is_set():
            step = self.step
            if step is not None:
                value = self.rss()
                if value > self.step_peak.get(step, 0):
                    self.step_peak[step] = value
            time.sleep(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
