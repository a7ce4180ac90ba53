"""Which summary figures each page shows, grouped in sections, with the seed's targets as hints."""

from __future__ import annotations

from streamlit_app.shaping import Figure

P, R, N = ("persistence", "operations"), ("persistence", "restoration"), ("persistence", "navigation")
RD, SC, TS = ("performance", "renders"), ("performance", "scroll"), ("performance", "tabSync")
MEM, API, BUN = ("performance", "memory"), ("performance", "api"), ("performance", "bundles")

KEY_FIGURES: tuple[Figure, ...] = (
    Figure("Persistence success", (*P, "successRate"), "%", True, "target > 99%, alert < 95%"),
    Figure(
        "Data loss incidents", ("persistence", "reliability", "dataLossIncidents"), "", False, "alert > 0"
    ),
    Figure("Render p95", (*RD, "p95Time"), "ms", False, "alert > 16 ms"),
    Figure("Scroll FPS", (*SC, "avgFps"), "fps", True, "target > 55 fps"),
    Figure("Memory peak", (*MEM, "peak", "mb"), "MB", False, "target < 50 MB, alert > 75 MB"),
    Figure("API p95", (*API, "p95Duration"), "ms", False, "alert > 500 ms"),
    Figure("API errors", (*API, "errorRate"), "%", False, "target < 0.5%, alert > 1%"),
    Figure("Tab sync p95", (*TS, "p95Latency"), "ms", False, "alert > 50 ms"),
)

Section = tuple[str, tuple[Figure, ...]]

PERSISTENCE: tuple[Section, ...] = (
    (
        "Persistence operations",
        (
            Figure("Operations", (*P, "total"), "", None),
            Figure("Successful", (*P, "successful"), "", None),
            Figure("Failed", (*P, "failed"), "", False),
            Figure("Success rate", (*P, "successRate"), "%", True, "target > 99%, alert < 95%"),
        ),
    ),
    (
        "Duration",
        (
            Figure("Average", ("persistence", "performance", "avgDuration"), "ms"),
            Figure("p50", ("persistence", "performance", "p50Duration"), "ms"),
            Figure("p95", ("persistence", "performance", "p95Duration"), "ms", False, "alert > 200 ms"),
            Figure("p99", ("persistence", "performance", "p99Duration"), "ms"),
        ),
    ),
    (
        "Session restoration",
        (
            Figure("Restores", (*R, "total"), "", None),
            Figure("Success rate", (*R, "successRate"), "%", True, "target > 99%"),
            Figure("Average time", (*R, "avgDuration"), "ms", False, "target < 200 ms"),
            Figure("Messages restored", (*R, "avgMessagesRestored"), "", None),
        ),
    ),
    (
        "Cross-page navigation",
        (
            Figure("Navigations", (*N, "total"), "", None),
            Figure("Data preserved", (*N, "dataPreservedCount"), "", None),
            Figure("Data lost", (*N, "dataLossCount"), "", False, "alert > 0"),
            Figure("Average time", (*N, "avgDuration"), "ms"),
        ),
    ),
)

PERFORMANCE: tuple[Section, ...] = (
    (
        "Render performance",
        (
            Figure("Renders", (*RD, "count"), "", None),
            Figure("Average", (*RD, "avgTime"), "ms", False, "excellent < 10 ms"),
            Figure("p95", (*RD, "p95Time"), "ms", False, "alert > 16 ms"),
            Figure("Slow renders (>16 ms)", (*RD, "slowRenderRate"), "%", False),
        ),
    ),
    (
        "Scroll performance",
        (
            Figure("Average FPS", (*SC, "avgFps"), "fps", True, "target > 55 fps"),
            Figure("Minimum FPS", (*SC, "minFps"), "fps", True),
            Figure("Jank", (*SC, "jankPercentage"), "%", False, "target < 5%, alert > 10%"),
        ),
    ),
    (
        "Tab synchronization",
        (
            Figure("Sync operations", (*TS, "operations"), "", None),
            Figure("Average latency", (*TS, "avgLatency"), "ms"),
            Figure("p95 latency", (*TS, "p95Latency"), "ms", False, "alert > 50 ms"),
            Figure("Failure rate", (*TS, "failureRate"), "%", False),
        ),
    ),
)

MEMORY_API: tuple[Section, ...] = (
    (
        "Memory usage",
        (
            Figure("Current", (*MEM, "current", "mb"), "MB", False, "target < 30 MB, alert > 50 MB"),
            Figure("Peak", (*MEM, "peak", "mb"), "MB", False, "target < 50 MB, alert > 75 MB"),
            Figure("Average", (*MEM, "average", "mb"), "MB", False, "target < 40 MB, alert > 60 MB"),
        ),
    ),
    (
        "API performance",
        (
            Figure("Calls", (*API, "totalCalls"), "", None),
            Figure("Average", (*API, "avgDuration"), "ms", False, "target < 300 ms"),
            Figure("p95", (*API, "p95Duration"), "ms", False, "alert > 500 ms"),
            Figure("Error rate", (*API, "errorRate"), "%", False, "target < 0.5%, alert > 1%"),
            Figure("Cache hits", (*API, "cacheHitRate"), "%", True, "target > 60%, alert < 40%"),
        ),
    ),
    (
        "Bundle loading",
        (
            Figure("Bundles loaded", (*BUN, "totalLoaded"), "", None),
            Figure(
                "Average size", (*BUN, "avgSize", "kb"), "KB", False, "per bundle loaded; target < 500 KB"
            ),
            Figure("Bytes loaded", (*BUN, "totalSize", "mb"), "MB", None, "sum of the sizes of every load"),
            Figure("Average load", (*BUN, "avgLoadTime"), "ms", False, "target < 500 ms, alert > 1000 ms"),
            Figure("Cache hits", (*BUN, "cacheHitRate"), "%", True, "target > 70%, alert < 50%"),
        ),
    ),
)
