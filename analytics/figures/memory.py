"""JS heap: the widget's memory now, at its peak and on average, in MiB as the seed states it."""

from __future__ import annotations

from analytics.figures.bounds import MB
from analytics.figures.figure import MIB, Export, Figure, Measure, RuleSpec
from analytics.figures.registry import register_figure, register_measure

MEMORY = ("performance", "memory")
_M = ("memory",)

USED_HEAP = register_measure(
    Measure("memory.usedJSHeapSize", "JS heap used", "value", _M, f"used_js_heap_size / {MIB}", "MB", "max")
)

# Scaled after the aggregate (exact: MIB is a power of two), so bytes come back exact.
register_figure(
    Figure(
        "memory.usage",
        "Memory now",
        "MB",
        _M,
        "value",
        f"arg_max(used_js_heap_size, ts) / {MIB}",
        "count(used_js_heap_size)",
        summary=(*MEMORY, "current"),
        shape="mb",
        latest_of=USED_HEAP.name,
        export=Export("memory.usage"),
        target=30,
        threshold=50,
        health="memory",
    )
)
register_figure(
    Figure(
        "memory.peak",
        "Memory peak",
        "MB",
        _M,
        "value",
        f"max(used_js_heap_size) / {MIB}",
        "count(used_js_heap_size)",
        summary=(*MEMORY, "peak"),
        shape="mb",
        series=(USED_HEAP.name, "max"),
        export=Export("memory.peak"),
        target=50,
        threshold=75,
        health="memory",
        rule=RuleSpec(
            "memory",
            "Memory peak high",
            ("memory", "peakMb"),
            {"warning": 50, "error": 75},
            MB,
            "Memory leak check; above 75 MB: immediate cleanup",
            needs_samples=False,
            window="current (last 5 min)",
        ),
    )
)
register_figure(
    Figure(
        "memory.average",
        "Memory average",
        "MB",
        _M,
        "value",
        f"avg(used_js_heap_size) / {MIB}",
        "count(used_js_heap_size)",
        summary=(*MEMORY, "average"),
        shape="mb",
        series=(USED_HEAP.name, "avg"),
        export=Export("memory.average"),
        target=40,
        threshold=60,
        health="memory",
        baseline=True,
        rule=RuleSpec(
            "memory", "Memory average high", ("memory", "averageMb"), {"warning": 60}, MB, "Memory leak check"
        ),
    )
)
