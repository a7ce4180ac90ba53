"""Distributions since the server started, for `/metrics`: each value measure as a histogram,
each rate or count measure as a counter, per customer and widget version.

A summary's p95 is a gauge of a percentile already computed, which Prometheus cannot add
across instances or re-aggregate over time; these are the classic form it can. They are
generated from the figure registry's measures (`analytics.figures`):

- a value measure (render time, API latency, FPS, heap ...) is a histogram in base units
  (`_seconds`, `_bytes`, `_ratio`), its buckets a standard ladder for the unit plus every
  target and threshold a figure of that measure declares, so "share under the threshold"
  is exact (`widget_monitor_render_time_seconds_bucket{le="0.016"}`);
- a rate or count measure counts the events it matches (`..._total`), beside
  `widget_monitor_events_total{type}`: a rate is `increase(matching) / increase(events)`.

The store hands every committed table to `add` (a reference, nothing computed on the
commit path); `flush`, run before each scrape and every second, measures what came in
since: one DuckDB pass on a private in-memory connection evaluates the measures' SQL,
numpy bins the values. Duplicates are never counted: the store hands over what it stored.
Counting starts with `start_counting` (the server calls it at the first scrape of
`/metrics`): a server nobody scrapes pays nothing for it, one that is scraped pays about
1 µs of CPU per event (bench/distributions_bench.py).

Series are capped: the first `max_series` (customer, widgetVersion) pairs keep their own;
later ones are added into `customer_id="(other)", widget_version="(other)"` and counted
in `folded_events`. A missing customer or version is the empty string (Prometheus reads
an empty label as an absent one).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analytics.figures import Measure, derived, figures, measures

OTHER = "(other)"
_SEPARATOR = "\x1f"  # joins customer and version: an identifier holds no control character
# A base unit per figure unit: the name's suffix, the SQL that converts, its bucket ladder.
MIB = 1_048_576


@dataclass(frozen=True, slots=True)
class BaseUnit:
    suffix: str  # of the family name ("" when the name says it: fps)
    scale: float  # base = value * scale
    ladder: tuple[float, ...]  # bucket upper bounds in the base unit

    def convert(self, value: float) -> float:
        """`value` (in the figure's unit) in the base unit, as the SQL computes it.

        >>> UNITS["ms"].convert(16), UNITS["MB"].convert(50), UNITS["%"].convert(5)
        (0.016, 52428800, 0.05)
        """
        return value / (1 / self.scale) if self.scale < 1 else value * self.scale

    def sql(self, expr: str) -> str:
        return f"(({expr}) / {1 / self.scale!r})" if self.scale < 1 else f"(({expr}) * {self.scale!r})"


UNITS: dict[str, BaseUnit] = {
    "ms": BaseUnit(
        "seconds", 1 / 1000, (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
    ),
    "fps": BaseUnit("", 1, (10, 20, 24, 30, 40, 50, 55, 58, 60, 90, 120, 144)),
    "MB": BaseUnit("bytes", MIB, tuple(MIB * m for m in (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096))),
    "KB": BaseUnit("bytes", 1024, tuple(1024 * k for k in (10, 50, 100, 250, 500, 1000, 2500, 5000))),
    "%": BaseUnit("ratio", 1 / 100, (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75)),
}


@dataclass(frozen=True, slots=True)
class HistogramOf:
    """A value measure as a histogram."""

    measure: Measure
    name: str  # without the widget_monitor_ prefix
    unit: BaseUnit
    bounds: tuple[float, ...]

    @property
    def help(self) -> str:
        unit = self.unit.suffix or self.measure.unit
        return f"{self.measure.label} per event, in {unit} (measure {self.measure.name})."


@dataclass(frozen=True, slots=True)
class CountOf:
    """A rate or count measure as a counter of the events it matches."""

    measure: Measure
    name: str

    @property
    def help(self) -> str:
        counted = f"Events matching {self.measure.label} (measure {self.measure.name})"
        if self.measure.kind == "count":
            return counted + "."
        types = "|".join(self.measure.types)
        return f'{counted}; the rate is this over widget_monitor_events_total{{type=~"{types}"}}.'


def family_stem(measure: Measure) -> str:
    """A measure's family name without prefix or unit: `render.renderTime` -> `render_time`.

    The event type, then the measure's own name, snake_case; a leading repeat of the
    type and a trailing `_rate` are dropped.

    >>> from analytics.figures import measures
    >>> wanted = ("render.renderTime", "api.errorRate", "tabSync.latency")
    >>> [family_stem(m) for m in measures() if m.name in wanted]
    ['render_time', 'tab_sync_latency', 'api_error']
    """
    kind, _, own = measure.name.partition(".")
    prefix, rest = _snake(kind), _snake(own)
    rest = rest.removesuffix("_rate")
    return rest if rest.startswith(prefix + "_") else f"{prefix}_{rest}"


@derived
def histograms() -> tuple[HistogramOf, ...]:
    """Every value measure whose unit has a base unit, with its buckets."""
    found = []
    for m in measures():
        unit = UNITS.get(m.unit)
        if m.kind != "value" or unit is None:
            continue
        declared = {
            unit.convert(level)
            for f in figures()
            if f.series is not None and f.series[0] == m.name
            for level in (f.target, f.threshold)
            if level is not None and level > 0
        }
        stem = family_stem(m).removesuffix("_percentage")  # jank_percentage: a ratio now
        name = stem + (f"_{unit.suffix}" if unit.suffix else "")
        found.append(HistogramOf(m, name, unit, tuple(sorted(set(unit.ladder) | declared))))
    return tuple(found)


@derived
def counts() -> tuple[CountOf, ...]:
    """Every rate and count measure."""
    return tuple(CountOf(m, family_stem(m) + "_total") for m in measures() if m.kind in ("rate", "count"))


@dataclass(slots=True)
class _Series:
    cumulative: list[int]
    count: int = 0
    sum: float = 0.0


class Distributions:
    """The histograms and counters since the start, fed by the store's commits."""

    def __init__(self, max_series: int = 200, *, counting: bool = False) -> None:
        self.max_series = max_series
        self.counting = counting  # False: `add` ignores tables until `start_counting`
        self.folded_events = 0  # events added into the (other) series
        self._pending: deque[pa.Table] = deque()
        self._flush_lock = threading.Lock()
        self._lock = threading.Lock()  # guards what a scrape reads
        self._pairs: set[tuple[str, str]] = set()
        # by (family, bounds, customer, version): a changed registry starts a family afresh
        self._histograms: dict[tuple[str, tuple[float, ...], str, str], _Series] = {}
        self._counts: dict[tuple[str, str, str, str], int] = {}  # (family, type, customer, version)
        self._con = duckdb.connect(config={"threads": 1})

    def start_counting(self) -> None:
        """Count every table added from now on."""
        self.counting = True

    def add(self, stored: pa.Table) -> None:
        """Count `stored` (committed rows) at the next flush, once counting. Safe from any thread."""
        if self.counting and stored.num_rows:
            self._pending.append(stored)

    def flush(self) -> None:
        """Measure every table added since the last flush."""
        with self._flush_lock:
            tables = []
            while self._pending:
                tables.append(self._pending.popleft())
            if not tables:
                return
            hist_rows, count_rows = self._measure(pa.concat_tables(tables, promote_options="default"))
            with self._lock:
                self._merge(hist_rows, count_rows)

    def _measure(self, pending: pa.Table) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Rows as `_merge` reads them: DuckDB evaluates every measure's SQL in one pass (in base
        units, NULL for other types), numpy bins the values by (type, customer, version).

        ~1 µs per event on this machine's cores, half of it DuckDB's pass (docs/metrics.md);
        one `count(*) FILTER` per bucket in SQL took 1.7 µs.
        """
        specs, kinds = histograms(), counts()
        self._con.register("pending", pending)
        try:
            got = self._con.sql(_projection_sql(specs, kinds)).to_arrow_table()
        finally:
            self._con.unregister("pending")
        keys = pc.binary_join_element_wise(got["customer"], got["version"], _SEPARATOR).combine_chunks()
        pair_codes = keys.dictionary_encode()
        pairs = [tuple(k.split(_SEPARATOR)) for k in pair_codes.dictionary.to_pylist()]
        pair = pair_codes.indices.to_numpy()
        type_codes = got["type"].combine_chunks().dictionary_encode()
        types = type_codes.dictionary.to_pylist()
        cells = type_codes.indices.to_numpy() * len(pairs) + pair  # one per (type, pair)
        size = len(types) * len(pairs)
        events = np.bincount(cells, minlength=size)
        matched = np.array(
            [np.bincount(cells, weights=got[f"k{j}"].to_numpy(), minlength=size) for j in range(len(kinds))]
        ).reshape(len(kinds), size)
        count_rows = [
            (
                types[c // len(pairs)],
                *pairs[c % len(pairs)],
                int(events[c]),
                *matched[:, c].astype(int).tolist(),
            )
            for c in np.flatnonzero(events)
        ]
        hist_rows = []
        for i, h in enumerate(specs):
            values = got[f"h{i}"].to_numpy()
            valid = ~np.isnan(values)
            at, values = pair[valid], values[valid]
            width = len(h.bounds) + 1
            buckets = np.searchsorted(np.asarray(h.bounds, dtype=float), values, side="left")  # v <= bound
            per_bucket = np.bincount(at * width + buckets, minlength=len(pairs) * width).reshape(-1, width)
            totals = np.bincount(at, weights=values, minlength=len(pairs))
            cumulative = per_bucket.cumsum(axis=1)
            for p in np.flatnonzero(cumulative[:, -1]):
                n = int(cumulative[p, -1])
                hist_rows.append((h.name, *pairs[p], n, float(totals[p]), cumulative[p, :-1].tolist()))
        return hist_rows, count_rows

    def histogram_samples(self) -> dict[str, list[tuple[tuple[str, str], _Series]]]:
        """By family name: ((customer, version), series) of every registered histogram."""
        out: dict[str, list[tuple[tuple[str, str], _Series]]] = {h.name: [] for h in histograms()}
        wanted = {(h.name, h.bounds) for h in histograms()}
        with self._lock:
            for (name, bounds, customer, version), series in sorted(self._histograms.items()):
                if (name, bounds) in wanted:
                    copy = _Series(list(series.cumulative), series.count, series.sum)
                    out[name].append(((customer, version), copy))
        return out

    def count_samples(self) -> dict[str, list[tuple[tuple[str, ...], int]]]:
        """By family name (`events_total` and each count's): (labels, count)."""
        out: dict[str, list[tuple[tuple[str, ...], int]]] = {"events_total": []}
        out |= {c.name: [] for c in counts()}
        with self._lock:
            for (name, type_, customer, version), n in sorted(self._counts.items()):
                if name == "events_total":
                    out[name].append(((type_, customer, version), n))
                elif name in out:
                    out[name].append(((customer, version), n))
        return out

    def series(self) -> int:
        """(customer, version) pairs with series of their own."""
        with self._lock:
            return len(self._pairs)

    def close(self) -> None:
        self._con.close()

    def _pair(self, customer: Any, version: Any, events: int) -> tuple[str, str]:
        pair = (customer or "", version or "")
        if pair in self._pairs:
            return pair
        if len(self._pairs) < self.max_series:
            self._pairs.add(pair)
            return pair
        self.folded_events += events
        return OTHER, OTHER

    def _merge(self, hist_rows: list[tuple[Any, ...]], count_rows: list[tuple[Any, ...]]) -> None:
        # the counts first: every event is in them (`events_total`), so folding is counted once
        by_name = {h.name: h for h in histograms()}
        specs = counts()
        for type_, customer, version, events, *matched in count_rows:
            pair = self._pair(customer, version, events)
            key = ("events_total", type_, *pair)
            self._counts[key] = self._counts.get(key, 0) + events
            for count, n in zip(specs, matched, strict=True):
                if type_ in count.measure.types:  # at 0 too: a customer whose saves all fail has a series
                    k = (count.name, "", *pair)
                    self._counts[k] = self._counts.get(k, 0) + n
        for name, customer, version, n, total, cumulative in hist_rows:
            bounds = by_name[name].bounds
            pair = self._pair(customer, version, 0)
            key = (name, bounds, *pair)
            series = self._histograms.get(key)
            if series is None:
                series = self._histograms[key] = _Series([0] * len(bounds))
            series.count += n
            series.sum += total
            series.cumulative = [a + b for a, b in zip(series.cumulative, cumulative, strict=True)]


def _projection_sql(specs: tuple[HistogramOf, ...], kinds: tuple[CountOf, ...]) -> str:
    """Per event: its type, customer and version, each histogram's value in its base unit (`h0`,
    `h1`, ...; NaN for other types and where the measure has none) and whether each count
    matches (`k0`, `k1`, ...; 0 or 1)."""
    columns = ["type", "coalesce(customer_id, '') AS customer", "coalesce(widget_version, '') AS version"]
    for i, h in enumerate(specs):
        value = (
            f"CASE WHEN type IN ({_types(h.measure)}) THEN CAST({h.unit.sql(h.measure.expr)} AS DOUBLE) END"
        )
        columns.append(f"coalesce({value}, 'NaN'::DOUBLE) AS h{i}")
    for j, c in enumerate(kinds):
        columns.append(
            f"CAST(coalesce(type IN ({_types(c.measure)}) AND ({c.measure.expr}), false) AS TINYINT) AS k{j}"
        )
    return f"SELECT {', '.join(columns)} FROM pending"


def _types(measure: Measure) -> str:
    return ", ".join(_literal(t) for t in measure.types)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _snake(name: str) -> str:
    """`usedJSHeapSize` -> `used_js_heap_size`, `tabSync` -> `tab_sync`."""
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", spaced).lower()
