"""Progress: what a long run is doing, told to whoever asked to hear it.

The library never prints. Its long functions (:func:`custvalue.loading.load_raw`,
:func:`custvalue.pipeline.score_quarter`, :func:`custvalue.report.render_report`) take a
:class:`Progress` and tell it each step as it begins and ends; the default,
:data:`SILENT`, ignores everything, so a library caller sees nothing. The command line
passes one that writes to stderr (:func:`for_stream`):

- :class:`LineProgress`: one plain line per finished step, for logs (CI, papermill, a
  pipe): no carriage returns, no colours;
- :class:`TerminalProgress`: the same lines, and while a step runs a spinner with its
  name and elapsed time (``rich``), for a person at a terminal.

A finished step reads ``validate orders: 12,000 rows, 11,998 accepted, 2 rejected (0.4 s)``.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO


@dataclass
class Step:
    """A step under way; set :attr:`detail` to say what it found or made."""

    title: str
    detail: str = ""


class Progress:
    """Receives a run's steps. This base class ignores them (see :data:`SILENT`)."""

    def say(self, text: str) -> None:
        """A line of its own: the folders a run reads and writes, a step skipped."""

    def started(self, step: Step) -> None:
        """``step`` began."""

    def finished(self, step: Step, seconds: float) -> None:
        """``step`` ended well after ``seconds``."""

    def abandoned(self, step: Step) -> None:
        """``step`` ended with an exception (the caller reports the error itself)."""

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[Step]:
        """Report the block as one step called ``title``."""
        step = Step(title)
        self.started(step)
        start = time.perf_counter()
        try:
            yield step
        except BaseException:
            self.abandoned(step)
            raise
        self.finished(step, time.perf_counter() - start)


SILENT = Progress()
"""Reports nothing: the default of every library function."""


def finished_line(step: Step, seconds: float) -> str:
    """How a finished step is written: ``title: detail (1.2 s)``."""
    detail = f": {step.detail}" if step.detail else ""
    return f"{step.title}{detail} ({seconds:.1f} s)"


class LineProgress(Progress):
    """Plain lines on ``stream``, one per finished step and message, flushed at once."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def finished(self, step: Step, seconds: float) -> None:
        self.say(finished_line(step, seconds))


class TerminalProgress(LineProgress):
    """:class:`LineProgress` plus a spinner naming the running step (for a terminal)."""

    def __init__(self, stream: TextIO):
        from rich.console import Console

        super().__init__(stream)
        self.console = Console(file=stream, highlight=False)
        self._status = None

    def say(self, text: str) -> None:
        # Through the console, so a line printed while a spinner runs lands above it.
        self.console.print(text, markup=False, soft_wrap=True)

    def started(self, step: Step) -> None:
        self._stop()
        self._status = self.console.status(f"{step.title} ...", spinner="dots")
        self._status.start()

    def finished(self, step: Step, seconds: float) -> None:
        self._stop()
        super().finished(step, seconds)

    def abandoned(self, step: Step) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def for_stream(stream: TextIO | None = None, quiet: bool = False) -> Progress:
    """The progress a command shows on ``stream`` (default stderr): nothing when
    ``quiet``, a spinner and lines at a terminal, plain lines anywhere else."""
    if quiet:
        return SILENT
    stream = stream or sys.stderr
    is_terminal = getattr(stream, "isatty", lambda: False)()
    return TerminalProgress(stream) if is_terminal else LineProgress(stream)
