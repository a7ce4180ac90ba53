"""Which summary figures each page shows, in which section, under which short label.

These are presentation choices only. What a figure is (its unit, which way is better, its
target and the alert threshold in force) is the API's figure registry's to say: `resolved`
completes each figure from the registry entry at its summary path. A figure the registry does
not know shows with no unit and no direction.
"""

from __future__ import annotations

from dataclasses import dataclass

from streamlit_app.registry import Registry, figure_hint
from streamlit_app.shaping import Figure


@dataclass(frozen=True, slots=True)
class Shown:
    """A figure as a page shows it: its short label (None: the registry's), where the summary
    holds it, and a note of the page's own put before the registry's hint."""

    label: str | None
    path: tuple[str, ...]
    note: str | None = None


Section = tuple[str, tuple[Shown, ...]]

P, R, N = ("persistence", "operations"), ("persistence", "restoration"), ("persistence", "navigation")
RD, SC, TS = ("performance", "renders"), ("performance", "scroll"), ("performance", "tabSync")
MEM, API, BUN = ("performance", "memory"), ("performance", "api"), ("performance", "bundles")

KEY_FIGURES: tuple[Shown, ...] = (
    Shown("Persistence success", (*P, "successRate")),
    Shown("Data loss incidents", ("persistence", "reliability", "dataLossIncidents")),
    Shown("Render p95", (*RD, "p95Time")),
    Shown("Scroll FPS", (*SC, "avgFps")),
    Shown("Memory peak", (*MEM, "peak", "mb")),
    Shown("API p95", (*API, "p95Duration")),
    Shown("API errors", (*API, "errorRate")),
    Shown("Tab sync p95", (*TS, "p95Latency")),
)

PERSISTENCE: tuple[Section, ...] = (
    (
        "Persistence operations",
        (
            Shown("Operations", (*P, "total")),
            Shown("Successful", (*P, "successful")),
            Shown("Failed", (*P, "failed")),
            Shown("Success rate", (*P, "successRate")),
        ),
    ),
    (
        "Duration",
        (
            Shown("Average", ("persistence", "performance", "avgDuration")),
            Shown("p50", ("persistence", "performance", "p50Duration")),
            Shown("p95", ("persistence", "performance", "p95Duration")),
            Shown("p99", ("persistence", "performance", "p99Duration")),
        ),
    ),
    (
        "Session restoration",
        (
            Shown("Restores", (*R, "total")),
            Shown("Success rate", (*R, "successRate")),
            Shown("Average time", (*R, "avgDuration")),
            Shown("Messages restored", (*R, "avgMessagesRestored")),
        ),
    ),
    (
        "Cross-page navigation",
        (
            Shown("Navigations", (*N, "total")),
            Shown("Data preserved", (*N, "dataPreservedCount")),
            Shown("Data lost", (*N, "dataLossCount")),
            Shown("Average time", (*N, "avgDuration")),
        ),
    ),
)

PERFORMANCE: tuple[Section, ...] = (
    (
        "Render performance",
        (
            Shown("Renders", (*RD, "count")),
            Shown("Average", (*RD, "avgTime")),
            Shown("p95", (*RD, "p95Time")),
            Shown(None, (*RD, "slowRenderRate")),  # the registry's label names what is slow
        ),
    ),
    (
        "Scroll performance",
        (
            Shown("Average FPS", (*SC, "avgFps")),
            Shown("Minimum FPS", (*SC, "minFps")),
            Shown("Jank", (*SC, "jankPercentage")),
        ),
    ),
    (
        "Tab synchronization",
        (
            Shown("Sync operations", (*TS, "operations")),
            Shown("Average latency", (*TS, "avgLatency")),
            Shown("p95 latency", (*TS, "p95Latency")),
            Shown("Failure rate", (*TS, "failureRate")),
        ),
    ),
)

MEMORY_API: tuple[Section, ...] = (
    (
        "Memory usage",
        (
            Shown("Current", (*MEM, "current", "mb")),
            Shown("Peak", (*MEM, "peak", "mb")),
            Shown("Average", (*MEM, "average", "mb")),
        ),
    ),
    (
        "API performance",
        (
            Shown("Calls", (*API, "totalCalls")),
            Shown("Average", (*API, "avgDuration")),
            Shown("p95", (*API, "p95Duration")),
            Shown("Error rate", (*API, "errorRate")),
            Shown("Cache hits", (*API, "cacheHitRate")),
        ),
    ),
    (
        "Bundle loading",
        (
            Shown("Bundles loaded", (*BUN, "totalLoaded")),
            Shown("Average size", (*BUN, "avgSize", "kb"), "per bundle loaded"),
            Shown("Bytes loaded", (*BUN, "totalSize", "mb"), "sum of the sizes of every load"),
            Shown("Average load", (*BUN, "avgLoadTime")),
            Shown("Cache hits", (*BUN, "cacheHitRate")),
        ),
    ),
)


def resolved(shown: Shown, registry: Registry) -> Figure:
    """The figure with the unit, direction and hint of the registry's entry at its path.

    >>> r = Registry.from_answer({"buckets": {}, "maxBuckets": 1, "statusBands": {}, "figures": [
    ...     {"summaryPath": ["a"], "label": "A p95", "unit": "ms", "higherIsBetter": False, "target": 10,
    ...      "threshold": {"value": 16, "direction": "above"}}]})
    >>> f = resolved(Shown("p95", ("a",), "per load"), r)
    >>> f.label, f.unit, f.higher_is_better, f.hint
    ('p95', 'ms', False, 'per load; target < 10 ms, alert > 16 ms')
    >>> f = resolved(Shown(None, ("b",)), r)
    >>> f.label, f.unit, f.higher_is_better, f.hint
    ('b', '', None, None)
    """
    entry = registry.at(shown.path)
    hint = "; ".join(part for part in (shown.note, figure_hint(entry)) if part) or None
    if entry is None:
        return Figure(shown.label or shown.path[-1], shown.path, "", None, hint)
    label = shown.label or str(entry.get("label") or shown.path[-1])
    return Figure(label, shown.path, str(entry.get("unit") or ""), entry.get("higherIsBetter"), hint)
