"""The Prometheus text exposition format (0.0.4): metric families with HELP, TYPE and their samples.

A `Family` is declared once, and checked then against the conventions `promtool check
metrics` holds a scrape to: names and label names in the allowed alphabet, a counter's
name ends in `_total` and nothing else's does, every family has help text. Label values
are data (a customerId is whatever a user typed), so `render` escapes them. A histogram's
sample is a `Histogram` (cumulative bucket counts, sum, count), written as its `_bucket`
series with `le` and its `_sum` and `_count`.

>>> requests = Family("app_requests_total", "counter", "Requests answered.", ("status",))
>>> print(render([(requests, [(("200",), 3), (('say "hi"',), 1)])]), end="")
# HELP app_requests_total Requests answered.
# TYPE app_requests_total counter
app_requests_total{status="200"} 3
app_requests_total{status="say \\"hi\\""} 1
>>> took = Family("app_took_seconds", "histogram", "Time taken.", ("route",))
>>> print(render([(took, [(("/",), Histogram((0.1, 1.0), (2, 3), 4, 1.25))])]), end="")
# HELP app_took_seconds Time taken.
# TYPE app_took_seconds histogram
app_took_seconds_bucket{route="/",le="0.1"} 2
app_took_seconds_bucket{route="/",le="1.0"} 3
app_took_seconds_bucket{route="/",le="+Inf"} 4
app_took_seconds_sum{route="/"} 1.25
app_took_seconds_count{route="/"} 4
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from analytics.timings import Histogram

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Kind = Literal["counter", "gauge", "histogram"]


# Label values in the order of the family's `labels`, and the value.
Sample = tuple[Sequence[str], float | Histogram]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: its name (with `_total` for a counter), type, help and label names."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"{self.name!r} is not a Prometheus metric name")
        if self.kind == "histogram" and ("le" in self.labels or self.name.endswith(_SUFFIXES)):
            raise ValueError(
                f"{self.name!r}: a histogram has no label `le` and no _bucket/_sum/_count suffix"
            )
        if (self.kind == "counter") != self.name.endswith("_total"):
            raise ValueError(f"{self.name!r}: a counter's name ends in _total, and only a counter's")
        if not self.help.strip():
            raise ValueError(f"{self.name!r} has no help text")
        for label in self.labels:
            if not _LABEL.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"{self.name!r}: {label!r} is not a label name")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"{self.name!r} repeats a label")


def render(families: Iterable[tuple[Family, Iterable[Sample]]]) -> str:
    """Each family's HELP and TYPE lines, then one line per sample.

    A family without samples still has its HELP and TYPE (a scraper learns it exists).
    """
    lines: list[str] = []
    for family, samples in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for values, value in samples:
            if len(values) != len(family.labels):
                raise ValueError(f"{family.name}: {len(values)} label values for {len(family.labels)} labels")
            if isinstance(value, Histogram):
                lines += _histogram_lines(family, values, value)
            else:
                lines.append(f"{family.name}{_label_set(family.labels, values)} {_number(value)}")
    return "\n".join(lines) + "\n" if lines else ""


def _histogram_lines(family: Family, values: Sequence[str], h: Histogram) -> list[str]:
    if family.kind != "histogram":
        raise ValueError(f"{family.name}: a histogram sample in a {family.kind}")
    names = (*family.labels, "le")
    lines = [
        f"{family.name}_bucket{_label_set(names, (*values, _number(float(bound))))} {count}"
        for bound, count in zip((*h.bounds, math.inf), (*h.cumulative, h.count), strict=True)
    ]
    labels = _label_set(family.labels, values)
    lines.append(f"{family.name}_sum{labels} {_number(h.sum)}")
    lines.append(f"{family.name}_count{labels} {h.count}")
    return lines


def escape_label_value(value: str) -> str:
    r"""A label value as it goes between the quotes: backslash, double quote and newline escaped.

    >>> print(escape_label_value('a\\b"c' + "\n"))
    a\\b\"c\n
    """
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _label_set(names: tuple[str, ...], values: Sequence[str]) -> str:
    if not names:
        return ""
    pairs = ",".join(
        f'{name}="{escape_label_value(value)}"' for name, value in zip(names, values, strict=True)
    )
    return "{" + pairs + "}"


def _number(value: float) -> str:
    """`3`, `0.25`, `+Inf`, `NaN`: integers without a decimal point (counters mostly are).

    >>> _number(3), _number(0.25), _number(float("inf")), _number(float("nan"))
    ('3', '0.25', '+Inf', 'NaN')
    """
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))
