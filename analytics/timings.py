"""Histograms of durations a process observes about itself (a commit, an alert check).

`Histogram` is one series of cumulative bucket counts, as Prometheus reads it;
`analytics.queries.metrics_exposition` renders it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Histogram:
    """One histogram series: upper bounds, the count at or below each (cumulative), count and sum.

    The `+Inf` bucket is `count` and is not among `bounds`.
    """

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]
    count: int
    sum: float


# Upper bounds (seconds) for the server's own timings: a commit, an alert check.
TIMING_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Timings:
    """A histogram of durations observed in this process, for one `Histogram` sample.

    >>> t = Timings((0.01, 0.1))
    >>> for s in (0.005, 0.02, 0.5): t.observe(s)
    >>> t.snapshot()
    Histogram(bounds=(0.01, 0.1), cumulative=(1, 2), count=3, sum=0.525)
    """

    def __init__(self, bounds: tuple[float, ...] = TIMING_BOUNDS) -> None:
        self.bounds = bounds
        self._counts = [0] * len(bounds)  # per bucket, not cumulative
        self._count = 0
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        self._count += 1
        self._sum += seconds
        for i, bound in enumerate(self.bounds):
            if seconds <= bound:
                self._counts[i] += 1
                break

    def snapshot(self) -> Histogram:
        cumulative, running = [], 0
        for n in self._counts:
            running += n
            cumulative.append(running)
        return Histogram(self.bounds, tuple(cumulative), self._count, self._sum)
