"""The API's figure registry as the pages read it (`GET /api/monitoring/figures`).

Each figure's unit, which way is better, its target and the alert threshold in force; the
time buckets, the most buckets a chart may ask for, the health status bands and weights. The
API states these once; the dashboard asks for them once per run (`PageContext.registry`) and
keeps no copy, so a threshold an operator changes shows on the next run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

Entry = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Registry:
    """The registry's answer: the figures, and the facts a page needs beside them."""

    figures: tuple[Entry, ...]
    buckets: Mapping[str, int]  # name -> width in seconds, e.g. "1h": 3600
    max_buckets: int
    status_bands: Mapping[str, float]  # the lowest score of "healthy" and of "degraded"
    health_weights: Mapping[str, float]  # category -> share of the overall score
    exact_span: timedelta | None = None  # longer ranges are read from the rollups (None: not said)

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> Registry:
        """The registry of the API's answer.

        >>> r = Registry.from_answer({"figures": [{"name": "x", "summaryPath": ["a", "b"]}],
        ...     "buckets": {"1h": 3600}, "maxBuckets": 10, "statusBands": {"healthy": 8, "degraded": 5}})
        >>> r.at(("a", "b"))["name"], r.at(("a",)), r.health_weights
        ('x', None, {})
        """
        return cls(
            figures=tuple(answer.get("figures") or ()),
            buckets=dict(answer["buckets"]),
            max_buckets=int(answer["maxBuckets"]),
            status_bands=dict(answer["statusBands"]),
            health_weights=dict(answer.get("healthWeights") or {}),
            exact_span=None
            if answer.get("exactSpanSeconds") is None
            else timedelta(seconds=int(answer["exactSpanSeconds"])),
        )

    def at(self, path: Sequence[str]) -> Entry | None:
        """The figure whose summary path is `path`, or None when the registry has none there."""
        wanted = tuple(path)
        return next((f for f in self.figures if tuple(f.get("summaryPath") or ()) == wanted), None)


def amount(value: float, unit: str) -> str:
    """A threshold as the hints write it: `16 ms`, `99.5%` (no space before a percent sign), `0`.

    >>> amount(16.0, "ms"), amount(99.5, "%"), amount(0, "")
    ('16 ms', '99.5%', '0')
    """
    if unit == "%":
        return f"{value:g}%"
    return f"{value:g} {unit}".strip()


def figure_hint(entry: Entry | None) -> str | None:
    """`target < 10 ms, alert > 16 ms`: the figure's target (signed by which way is better) and
    the alert threshold in force (signed by the side it fires on), in the figure's unit.

    >>> figure_hint({"unit": "%", "higherIsBetter": True, "target": 99,
    ...     "threshold": {"value": 95.0, "direction": "below"}})
    'target > 99%, alert < 95%'
    >>> figure_hint({"unit": "", "higherIsBetter": False, "target": None,
    ...     "threshold": {"value": 0.0, "direction": "above"}})
    'alert > 0'
    >>> figure_hint({"unit": "ms", "higherIsBetter": False, "target": None, "threshold": None}) is None
    True
    """
    if entry is None:
        return None
    unit = str(entry.get("unit") or "")
    parts = []
    target = entry.get("target")
    if target is not None:
        higher = entry.get("higherIsBetter")
        sign = "> " if higher is True else "< " if higher is False else ""
        parts.append(f"target {sign}{amount(target, unit)}")
    threshold = entry.get("threshold")
    if threshold is not None:
        sign = ">" if threshold.get("direction") == "above" else "<"
        parts.append(f"alert {sign} {amount(threshold['value'], unit)}")
    return ", ".join(parts) or None


def weights_text(weights: Mapping[str, float]) -> str:
    """How the overall health score weighs the categories, as the API states it.

    >>> weights_text({"persistence": 0.4, "performance": 0.3, "api": 0.3})
    'persistence 40%, performance 30%, API 30%'
    """
    return ", ".join(
        f"{'API' if name == 'api' else name} {share * 100:g}%" for name, share in weights.items()
    )
