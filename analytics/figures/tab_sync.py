"""Multi-tab synchronization: how long a change takes to reach the other tabs, and failures."""

from __future__ import annotations

from analytics.figures.bounds import MS
from analytics.figures.declare import on
from analytics.figures.figure import Export, Figure, Measure, RuleSpec
from analytics.figures.registry import register_figure, register_measure

TAB_SYNC = ("performance", "tabSync")
_T = ("tabSync",)

LATENCY = register_measure(
    Measure("tabSync.latency", "Tab sync latency", "value", _T, "latency", "ms", "p95")
)
FAILURES = register_measure(
    Measure("tabSync.failureRate", "Tab sync failure rate", "rate", _T, "success = false", "%", "rate")
)

register_figure(
    Figure(
        "tabsync.operations",
        "Sync operations",
        "",
        _T,
        "count",
        "count(*)",
        higher_is_better=None,
        summary=(*TAB_SYNC, "operations"),
        rolled=("tabSync.latency", "events"),
        shape="int",
    )
)
register_figure(
    on(
        LATENCY,
        "avg",
        name="tabsync.avg_latency",
        label="Tab sync average latency",
        summary=(*TAB_SYNC, "avgLatency"),
        export=Export("tabsync.latency", {"stat": "avg"}),
    )
)
register_figure(
    on(
        LATENCY,
        "p95",
        name="tabsync.latency",
        label="Tab sync p95 latency",
        summary=(*TAB_SYNC, "p95Latency"),
        export=Export("tabsync.latency", {"stat": "p95"}),
        target=25,
        threshold=50,
        health="performance",
        baseline=True,
        rule=RuleSpec(
            "tab_sync",
            "Tab sync p95 latency high",
            ("tabSync", "latency"),
            {"warning": 50},
            MS,
            "Check the tab synchronization channel",
        ),
    )
)
register_figure(
    on(
        FAILURES,
        "count",
        name="tabsync.failures",
        label="Tab sync failures",
        summary=(*TAB_SYNC, "failures"),
        shape="int",
        higher_is_better=False,
    )
)
register_figure(
    on(
        FAILURES,
        "rate",
        name="tabsync.failure_rate",
        label="Tab sync failure rate",
        summary=(*TAB_SYNC, "failureRate"),
        export=Export("tabsync.failure_rate"),
    )
)
