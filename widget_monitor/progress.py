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
    `counted` says the numbers beside it."""

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
        self.show(0)

    def show(self, done: int) -> None:
        filled = round(self.width * min(done, self.total) / self.total) if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        self.out.write(f"\r{self.verb} [{bar}] {self.counted(done, self.total)}")
        self.out.flush()

    def done(self, line: str) -> None:
        self.show(self.total)
        self.out.write(f"\n{line}\n")
