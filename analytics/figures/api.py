"""The chat API as the widget sees it: latency, errors, cache hits."""

from __future__ import annotations

from analytics.figures.bounds import MS, PERCENT
from analytics.figures.declare import on
from analytics.figures.figure import Export, Figure, Measure, RuleSpec
from analytics.figures.registry import register_figure, register_measure

API = ("performance", "api")
_A = ("api",)

DURATION = register_measure(Measure("api.duration", "API latency", "value", _A, "duration", "ms", "p95"))
ERRORS = register_measure(Measure("api.errorRate", "API error rate", "rate", _A, "NOT success", "%", "rate"))
# a call that does not say whether it was cached is not a hit
CACHED = register_measure(
    Measure(
        "api.cacheHitRate",
        "API cache hit rate",
        "rate",
        _A,
        "coalesce(cached, false)",
        "%",
        "rate",
        higher_is_better=True,
    )
)

register_figure(
    Figure(
        "api.calls",
        "Calls",
        "",
        _A,
        "count",
        "count(*)",
        higher_is_better=None,
        summary=(*API, "totalCalls"),
        rolled=("api.duration", "events"),
        shape="int",
        export=Export("api.calls"),
    )
)
register_figure(
    on(
        DURATION,
        "avg",
        name="api.avg_duration",
        label="API average latency",
        summary=(*API, "avgDuration"),
        export=Export("api.latency", {"stat": "avg"}),
        target=300,
    )
)
register_figure(
    on(
        DURATION,
        "p95",
        name="api.latency",
        label="API p95 latency",
        summary=(*API, "p95Duration"),
        export=Export("api.latency", {"stat": "p95"}),
        target=300,
        threshold=500,
        health="api",
        baseline=True,
        rule=RuleSpec(
            "api", "API p95 latency high", ("api", "latency"), {"warning": 500}, MS, "API optimization"
        ),
    )
)
register_figure(
    on(
        ERRORS,
        "rate",
        name="api.error_rate",
        label="API error rate",
        summary=(*API, "errorRate"),
        export=Export("api.error_rate"),
        target=0.5,
        threshold=1,
        health="api",
        rule=RuleSpec(
            "error_rate",
            "API error rate high",
            ("api", "errorRate"),
            {"warning": 1, "error": 5},
            PERCENT,
            "Error investigation; above 5 %: service health check",
        ),
    )
)
register_figure(
    on(
        CACHED,
        "rate",
        name="api.cache_hit_rate",
        label="API cache hit rate",
        summary=(*API, "cacheHitRate"),
        export=Export("api.cache_hit_rate"),
        target=60,
        threshold=40,
        health="api",
        rule=RuleSpec(
            "api",
            "API cache hit rate low",
            ("api", "cacheHitRate"),
            {"warning": 40},
            PERCENT,
            "Check API cache configuration",
        ),
    )
)
