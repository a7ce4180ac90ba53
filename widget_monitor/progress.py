"""The command line's progress bar: one line, redrawn, `importing [#####.....] 500/1000 events`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO


def events(done: int, total: int) -> str:
    return f"{min(done, total)}/{total} events"


def megabytes(done: int, total: int) -> str:
    return f"{done / 1e6:,.1f} MB"


class Progress:
    """A bar of `done` out of `total`, on `out` (stderr by default), drawn at 0 at once;
    `counted` says the numbers beside it.

    On a terminal the bar is one line, redrawn; anywhere else (a log file, a pipe) a line at
    every tenth, so that a log does not fill with redrawn bars.

    >>> import io
    >>> log = io.StringIO()
    >>> bar = Progress("importing", 1000, log, width=10)
    >>> for done in range(0, 1001, 50):
    ...     bar.show(done)
    >>> bar.done("stored 1000")
    >>> print(log.getvalue().splitlines()[1])
    importing [#.........] 100/1000 events
    >>> len(log.getvalue().splitlines()), "\\r" in log.getvalue()
    (12, False)
    """

    def __init__(
        self,
        verb: str,
        total: int,
        out: TextIO | None = None,
        width: int = 30,
        counted: Callable[[int, int], str] = events,
    ) -> None:
        self.verb, self.total, self.out, self.width = verb, total, out or sys.stderr, width
        self.counted = counted
        self.redrawn = self.out.isatty()
        self._tenth = -1  # the last tenth written as a line (not on a terminal)
        self.show(0)

    def show(self, done: int) -> None:
        share = min(done, self.total) / self.total if self.total else 1.0
        filled = round(self.width * share)
        line = f"{self.verb} [{'#' * filled}{'.' * (self.width - filled)}] {self.counted(done, self.total)}"
        if self.redrawn:
            self.out.write(f"\r{line}")
        elif (tenth := int(share * 10)) > self._tenth:
            self._tenth = tenth
            self.out.write(f"{line}\n")
        self.out.flush()

    def done(self, line: str) -> None:
        self.show(self.total)
        self.out.write(f"\n{line}\n" if self.redrawn else f"{line}\n")
