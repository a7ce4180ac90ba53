"""The registry: every measure and figure, registered the same way, built-in or added later.

The built-ins register themselves from one small module per event type (see
`analytics.figures`), as datasette keeps its own features as plugins. Whatever reads the
registry (summary, alerts, health, catalogue, export) reads it when it runs, so a figure
registered later is everywhere at once; `version` changes with every registration, for
those that cache what they generate.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from analytics.errors import InvalidQuery
from analytics.figures.figure import LABEL_SEPARATOR, Figure, Measure, Tally

_figures: dict[str, Figure] = {}
_measures: dict[str, Measure] = {}
_tallies: dict[str, Tally] = {}
_version = 0
_ROLLED_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")


def register_measure(measure: Measure) -> Measure:
    """Add `measure` to the catalogue; a name may be registered once."""
    _check_rolled_name("measure", measure.name)
    _measures[measure.name] = measure
    _bump()
    return measure


def register_tally(tally: Tally) -> Tally:
    """Add `tally`; its name may be neither a measure's nor another tally's."""
    _check_rolled_name("tally", tally.name)
    _tallies[tally.name] = tally
    _bump()
    return tally


def _check_rolled_name(kind: str, name: str) -> None:
    """A measure's or tally's name is new to both, and is a word, dots and underscores: it is
    written into SQL and into rollup rows (a tally's label rows are `<tally>/<label>`)."""
    if name in _measures or name in _tallies:
        raise ValueError(f"{kind} {name!r}: the name is taken")
    if not _ROLLED_NAME.fullmatch(name) or LABEL_SEPARATOR in name:
        raise ValueError(f"{kind} {name!r}: a name is letters, digits, '.' and '_'")


def register_figure(figure: Figure) -> Figure:
    """Add `figure`; its name, summary path and export must be new, and what it reads must exist."""
    if figure.name in _figures:
        raise ValueError(f"figure {figure.name!r} is already registered")
    if figure.summary is not None and any(f.summary == figure.summary for f in _figures.values()):
        raise ValueError(f"summary path {'.'.join(figure.summary)} already has a figure")
    missing = [name for name in figure.sum_of if name not in _figures]
    if missing:
        raise ValueError(f"figure {figure.name!r} sums unknown figures {missing}")
    if figure.series is not None and figure.series[0] not in _measures:
        raise ValueError(f"figure {figure.name!r} charts unknown measure {figure.series[0]!r}")
    if figure.rolled is not None and figure.rolled[0] not in _measures:
        raise ValueError(f"figure {figure.name!r} reads unknown measure {figure.rolled[0]!r}")
    if figure.rule is not None and figure.rule.needs_samples and figure.sum_of:
        raise ValueError(f"figure {figure.name!r}: a sum has no sample count for a rule to need")
    _figures[figure.name] = figure
    _bump()
    return figure


@contextmanager
def registered(*items: Figure | Measure | Tally) -> Iterator[None]:
    """Register `items` for the duration of a block (tests, and trying a figure out)."""
    for item in items:
        if isinstance(item, Measure):
            register_measure(item)
        elif isinstance(item, Tally):
            register_tally(item)
        else:
            register_figure(item)
    try:
        yield
    finally:
        for item in reversed(items):
            table: dict[str, Any] = (
                _measures if isinstance(item, Measure) else _tallies if isinstance(item, Tally) else _figures
            )
            table.pop(item.name, None)
        _bump()


@contextmanager
def replaced(name: str, **changes: Any) -> Iterator[Figure]:
    """The figure `name` with `changes` (e.g. `unit="µs"`) for the duration of a block."""
    original = _figures[name]
    _figures[name] = dataclasses.replace(original, **changes)
    _bump()
    try:
        yield _figures[name]
    finally:
        _figures[name] = original
        _bump()


def figures() -> tuple[Figure, ...]:
    """Every figure, in the order registered."""
    return tuple(_figures.values())


def figure_named(name: str) -> Figure:
    """The figure called `name` (KeyError when there is none)."""
    return _figures[name]


def measures() -> tuple[Measure, ...]:
    """Every measure of the catalogue, in the order registered."""
    return tuple(_measures.values())


def tallies() -> tuple[Tally, ...]:
    """Every tally, in the order registered."""
    return tuple(_tallies.values())


def rolled_up() -> tuple[Measure | Tally, ...]:
    """What the hourly rollups hold: every measure, then every tally."""
    return (*_measures.values(), *_tallies.values())


def measure_named(name: str) -> Measure:
    """The catalogue entry for `name`, or InvalidQuery listing the valid names.

    >>> import analytics.figures
    >>> measure_named("render.renderTime").unit
    'ms'
    """
    try:
        return _measures[name]
    except KeyError:
        raise InvalidQuery(
            f"unknown metric {name!r}; expected one of {', '.join(_measures)}", parameter="metric"
        ) from None


def version() -> int:
    """A number that changes whenever the registry does."""
    return _version


T = TypeVar("T")


def derived(build: Callable[[], T]) -> Callable[[], T]:
    """`build`, computed again only when the registry has changed since its last call."""
    cache: list[tuple[int, T]] = []

    def current() -> T:
        if not cache or cache[0][0] != _version:
            cache[:] = [(_version, build())]
        return cache[0][1]

    current.__doc__ = build.__doc__
    return current


def _bump() -> None:
    global _version
    _version += 1
