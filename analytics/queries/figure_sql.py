"""Measuring figures: any set of the registry's figures over some events, per scope, in one statement.

Each figure reads only its event types' rows: the figures that read the same types share
one `SELECT ... WHERE type IN (...)`, and the parts are joined by `UNION ALL BY NAME` into
one statement (one snapshot). The same aggregates written as `agg FILTER (type = ...)` over
every row, in one SELECT, cost DuckDB ~4-8x the CPU (2.8 s vs 0.35 s for a summary over 2M
events): it evaluates each filter on each row. The quantiles of one expression share one
`quantile_cont(expr, [q, ...])`.

A figure is a `Reading`: its value (None without data) and how many samples it rests
on. Percentiles interpolate linearly between closest ranks (DuckDB `quantile_cont`,
numpy's default); rates are percentages 0..100 of the figure's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from analytics.figures import Figure, figure_named
from analytics.figures.figure import MIB
from analytics.storage.lake import events_source

GLOBAL = ""  # the scope key of the global scope; a customer's scope key is its customerId


@dataclass(frozen=True, slots=True)
class Reading:
    """A figure's value over a window and the number of samples behind it."""

    value: float | None
    samples: int


Readings = dict[str, Reading]


def measure_figures(
    cur: duckdb.DuckDBPyConnection,
    wanted: Iterable[Figure],
    where: str,
    params: dict[str, Any],
    *,
    per_customer: bool = False,
    spans: Sequence[tuple[datetime, datetime]] | None = None,
) -> dict[str, Readings]:
    """Every figure of `wanted` over the events matching `where`, by scope key.

    `spans` bound the times `where` reads (default: `params`' $start and $end): the lake's
    files of other days are not read.

    The global scope (`GLOBAL`) is always present, with `empty_readings` when there is no
    data; a customer appears when it has events and `per_customer` is on.
    """
    chosen = _with_parts(wanted)
    if per_customer:
        head, groups = (
            "grouping(customer_id) AS whole, customer_id",
            "GROUP BY GROUPING SETS ((), (customer_id))",
        )
    else:
        head, groups = "1 AS whole, NULL AS customer_id", ""
    if spans is None:
        spans = [(params.get("start"), params.get("end"))]  # type: ignore[list-item]
    scopes: dict[str, Readings] = {GLOBAL: empty_readings(chosen)}
    parts = _parts(chosen)
    if parts:
        selects = [
            f"SELECT {n} AS part, {head}, {part.columns()} "
            f"FROM {events_source(cur, types=part.types, spans=spans)} "
            f"WHERE type IN ({', '.join(repr(t) for t in part.types)}) AND ({where}) {groups}"
            for n, part in enumerate(parts)
        ]
        cursor = cur.execute(" UNION ALL BY NAME ".join(selects), params)
        names = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            record = dict(zip(names, row, strict=True))
            key = _scope_key(record["whole"], record["customer_id"])
            if key is not None:
                parts[record["part"]].read(record, scopes.setdefault(key, empty_readings(chosen)))
    for figure in chosen:
        if figure.scan is not None:
            source = events_source(cur, types=figure.types or None, spans=spans)
            sql = figure.scan.format(where=where, mib=MIB, head=head, groups=groups, events=source)
            for whole, customer_id, value, samples in cur.execute(sql, params).fetchall():
                key = _scope_key(whole, customer_id)
                if key is not None and key in scopes:
                    scopes[key][figure.name] = Reading(_float(value), int(samples))
    for readings in scopes.values():
        for figure in chosen:
            if figure.sum_of:
                got = [readings[name] for name in figure.sum_of]
                values = [r.value for r in got]
                total = None if any(v is None for v in values) else sum(v for v in values if v is not None)
                readings[figure.name] = Reading(total, sum(r.samples for r in got))
    return scopes


def empty_readings(chosen: Iterable[Figure]) -> Readings:
    """The readings of a scope without events: nothing known, and nothing counted."""
    return {f.name: Reading(0.0 if f.kind == "count" else None, 0) for f in chosen}


class _Part:
    """The figures that read one set of event types, and their columns in the statement."""

    def __init__(self, types: tuple[str, ...], figures: list[Figure]) -> None:
        self.types = types
        self.figures = figures
        # expr -> the qs asked of it, computed by one `quantile_cont(expr, [q, ...])`
        self.quantiles: dict[str, list[float]] = {}
        for figure in figures:
            if figure.quantile is not None:
                expr, q = figure.quantile
                qs = self.quantiles.setdefault(expr, [])
                if q not in qs:
                    qs.append(q)
        self._slots = {expr: n for n, expr in enumerate(self.quantiles)}

    def columns(self) -> str:
        cols: list[str] = []
        for quantile, (expr, qs) in enumerate(self.quantiles.items()):
            cols.append(f"quantile_cont({expr}, [{', '.join(str(q) for q in qs)}]) AS q{quantile}")
        for i, figure in enumerate(self.figures):
            if figure.kind == "rate":
                cols.append(f"count(*) FILTER ({figure.sql}) AS f{i}_v, count(*) AS f{i}_n")
            elif figure.quantile is not None:
                cols.append(f"{figure.samples} AS f{i}_n")
            else:
                cols.append(f"{figure.sql} AS f{i}_v, {figure.samples} AS f{i}_n")
        return ", ".join(cols)

    def read(self, record: dict[str, Any], into: Readings) -> None:
        for i, figure in enumerate(self.figures):
            samples = int(record[f"f{i}_n"] or 0)
            if figure.kind == "rate":
                value = None if samples == 0 else 100.0 * record[f"f{i}_v"] / samples
            elif figure.quantile is not None:
                expr, q = figure.quantile
                values = record[f"q{self._slots[expr]}"]
                value = None if values is None else _float(values[self.quantiles[expr].index(q)])
            else:
                value = _float(record[f"f{i}_v"])
            into[figure.name] = Reading(value, samples)


def _parts(chosen: Sequence[Figure]) -> list[_Part]:
    by_types: dict[tuple[str, ...], list[Figure]] = {}
    for figure in chosen:
        if figure.scan is None and not figure.sum_of:
            by_types.setdefault(figure.types, []).append(figure)
    return [_Part(types, part) for types, part in by_types.items()]


def _with_parts(wanted: Iterable[Figure]) -> list[Figure]:
    """`wanted` and the figures their sums add, each once, parts first."""
    chosen: dict[str, Figure] = {}

    def add(figure: Figure) -> None:
        for name in figure.sum_of:
            add(figure_named(name))
        chosen.setdefault(figure.name, figure)

    for figure in wanted:
        add(figure)
    return list(chosen.values())


def _scope_key(whole: Any, customer_id: Any) -> str | None:
    if whole:
        return GLOBAL
    return None if customer_id is None or customer_id == GLOBAL else str(customer_id)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
