"""The seed's health summary of one time window, generated from the figure registry.

Every figure with a place in the summary (`Figure.summary`) is measured in one statement
(see `analytics.queries.figure_sql`) and written at its path; rates are percentages
0..100; every figure is rounded to two decimals, and a figure with no data is None (JSON
null), never 0 or NaN.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from analytics.figures import Figure, derived, figures, measure_named, tallies
from analytics.figures.figure import MIB
from analytics.queries.figure_sql import GLOBAL, Reading, Readings, measure_figures
from analytics.queries.health import score_health
from analytics.queries.rolled_window import newest_hour_with, raw_tally, rolled_tally, rolled_window
from analytics.queries.source import Source
from analytics.rollups.sketch import ALPHA
from analytics.window import Window, iso

__all__ = ["Window", "health_by_customer", "pct", "r2", "summarize_window", "summary_figures"]


@derived
def summary_figures() -> tuple[Figure, ...]:
    """The figures the summary shows, in the order registered."""
    return tuple(f for f in figures() if f.summary is not None)


def r2(value: float | None) -> float | None:
    """Round to two decimals; None stays None."""
    return None if value is None else round(float(value), 2)


def pct(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, rounded; None when `whole` is 0."""
    return None if whole == 0 else round(100.0 * part / whole, 2)


def shown(figure: Figure, reading: Reading) -> Any:
    """The figure's value as the summary writes it (see `Figure.shape`).

    >>> from analytics.figures import figure_named
    >>> shown(figure_named("memory.peak"), Reading(1.5, 3))
    {'bytes': 1572864, 'mb': 1.5}
    """
    value = reading.value
    if figure.shape == "int":
        return None if value is None else int(value)
    if figure.shape == "mb":
        return {"bytes": None if value is None else round(value * MIB), "mb": r2(value)}
    if figure.shape == "size":
        return {
            "bytes": None if value is None else int(value * MIB),
            "kb": r2(None if value is None else value * 1024),
            "mb": r2(value),
        }
    return r2(value)


def summarize_window(
    cur: duckdb.DuckDBPyConnection,
    window: Window,
    *,
    now: datetime | None = None,
    complete: bool = False,
    source: Source = "raw",
) -> dict[str, Any]:
    """The seed's summary (without its `alerts` section) of the events in `window`.

    The `timeWindow` field is `end - start` in milliseconds. With `complete`, the figures
    the seed's shape has no field for (`Figure.shown` False) are in it too, for the export.
    From `source` "rollup", every figure the rollups hold (`Figure.rollup_reading`) comes
    from them (`errorBound`: a quantile's largest relative error), the others from raw events.
    """
    chosen = summary_figures()
    if source == "rollup":
        readings = rolled_readings(cur, chosen, window)
    else:
        readings = measure_figures(cur, chosen, window.where, window.params())[GLOBAL]
    body: dict[str, Any] = {
        "timestamp": iso(now or window.end),
        "timeWindow": round(window.span.total_seconds() * 1000),
        "source": source,
        "errorBound": ALPHA if source == "rollup" else None,
        "health": {},
    }
    _put_figures(body, readings)
    for tally in tallies():
        if tally.summary is not None:
            counts = rolled_tally(cur, tally, window) if source == "rollup" else raw_tally(cur, tally, window)
            _put(body, tally.summary, counts)
    body["health"] = score_health(body)
    if not complete:
        for figure in chosen:
            if not figure.shown and figure.summary is not None:
                _drop(body, figure.summary)
    return body


def rolled_readings(cur: duckdb.DuckDBPyConnection, chosen: tuple[Figure, ...], window: Window) -> Readings:
    """The figures of `chosen` over `window`: from the rollups where they hold the figure; a
    latest value (`Figure.latest_of`) from the raw events since the newest hour the rollups say
    holds one; the rest (a condition no measure counts) from the raw events of their types."""
    from_rollups = [f for f in chosen if f.rollup_reading is not None]
    latest = [f for f in chosen if f.rollup_reading is None and f.latest_of is not None]
    rest = [f for f in chosen if f.rollup_reading is None and f.latest_of is None]
    names = {f.rollup_reading[0] for f in from_rollups if f.rollup_reading is not None}
    names |= {f.latest_of for f in latest if f.latest_of is not None}
    merged = rolled_window(cur, [measure_named(name) for name in sorted(names)], window)
    readings = measure_figures(cur, rest, window.where, window.params())[GLOBAL] if rest else {}
    for figure in latest:  # raw events from the newest hour the rollups say holds a value
        assert figure.latest_of is not None
        since = newest_hour_with(cur, measure_named(figure.latest_of), window)
        start = window.start if since is None else max(since, window.start)
        recent = Window(start, window.end, window.customer_id, window.widget_version)
        value = measure_figures(cur, [figure], recent.where, recent.params())[GLOBAL][figure.name].value
        readings[figure.name] = Reading(value, merged[figure.latest_of].n)
    for figure in from_rollups:
        assert figure.rollup_reading is not None
        name, part = figure.rollup_reading
        rolled = merged[name]
        if part == "events":
            readings[figure.name] = Reading(float(rolled.events), rolled.events)
        elif part == "unmatched":
            readings[figure.name] = Reading(float(rolled.events - rolled.n), rolled.events)
        else:
            samples = rolled.n if rolled.measure.kind == "value" else rolled.events
            value = rolled.stat(part)
            scaled = None if value is None else value * figure.rolled_scale
            readings[figure.name] = Reading(scaled, samples)
    return readings


def health_by_customer(cur: duckdb.DuckDBPyConnection, window: Window) -> dict[str, dict[str, Any]]:
    """The summary's `health` section of the whole window (key `GLOBAL`) and of each customer
    with events in it, from one scan: each scored as its own summary would score it.

    `window` spans every customer (its `customer_id` is ignored).
    """
    everyone = Window(window.start, window.end)
    scopes = measure_figures(cur, summary_figures(), everyone.where, everyone.params(), per_customer=True)
    health = {}
    for scope, readings in scopes.items():
        body: dict[str, Any] = {}
        _put_figures(body, readings)
        health[scope] = score_health(body)
    return health


def _put_figures(body: dict[str, Any], readings: dict[str, Reading]) -> None:
    """Each summary figure's value at its path."""
    for figure in summary_figures():
        assert figure.summary is not None
        _put(body, figure.summary, shown(figure, readings[figure.name]))


def _drop(body: dict[str, Any], path: tuple[str, ...]) -> None:
    parents = [body]
    for key in path[:-1]:
        parents.append(parents[-1][key])
    parents[-1].pop(path[-1], None)
    for parent, key in zip(reversed(parents[:-1]), reversed(path[:-1]), strict=True):
        if parent[key]:
            break
        del parent[key]  # a section left empty goes with it


def _put(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = body
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
