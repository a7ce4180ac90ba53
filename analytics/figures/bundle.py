"""Widget bundles: how many load, how big, how fast, and how often from cache."""

from __future__ import annotations

from analytics.figures.bounds import MB, MS, PERCENT
from analytics.figures.declare import on
from analytics.figures.figure import MIB, Export, Figure, Measure, RuleSpec
from analytics.figures.registry import register_figure, register_measure

BUNDLES = ("performance", "bundles")
_B = ("bundle",)

LOAD_TIME = register_measure(
    Measure("bundle.loadTime", "Bundle load time", "value", _B, "load_time", "ms", "avg")
)
SIZE = register_measure(Measure("bundle.size", "Bundle size", "value", _B, "bundle_size / 1024", "KB", "avg"))
CACHED = register_measure(
    Measure(
        "bundle.cacheHitRate",
        "Bundle cache hit rate",
        "rate",
        _B,
        "coalesce(cached, false)",
        "%",
        "rate",
        higher_is_better=True,
    )
)

# What one widget load downloads: the distinct bundles of a session (a bundle loaded twice
# counts once), and the largest such total in the window. {events}, {where}, {head}, {groups}
# and {mib} are filled in by `analytics.queries.figure_sql`.
PER_LOAD_SIZE_SQL = """
WITH per_bundle AS (
    SELECT customer_id,
           coalesce(session_id, 'row:' || CAST(row_no AS VARCHAR)) AS load,
           coalesce(bundle_name, 'row:' || CAST(row_no AS VARCHAR)) AS bundle,
           max(bundle_size) AS bytes
    FROM (
        SELECT *, row_number() OVER () AS row_no FROM {events}
        WHERE type = 'bundle' AND bundle_size IS NOT NULL AND ({where})
    )
    GROUP BY ALL
), per_load AS (
    SELECT customer_id, load, sum(bytes) AS bytes FROM per_bundle GROUP BY ALL
)
SELECT {head}, max(bytes) / {mib} AS value, count(*) AS samples
FROM per_load
{groups}
"""

register_figure(
    Figure(
        "bundle.loaded",
        "Bundles loaded",
        "",
        _B,
        "count",
        "count(*)",
        higher_is_better=None,
        summary=(*BUNDLES, "totalLoaded"),
        rolled=("bundle.loadTime", "events"),
        shape="int",
    )
)
register_figure(
    Figure(
        "bundle.bytes_loaded",
        "Bytes loaded",
        "MB",
        _B,
        "value",
        f"sum(bundle_size) / {MIB}",
        "count(bundle_size)",
        higher_is_better=None,
        summary=(*BUNDLES, "totalSize"),
        shape="size",
        rolled=(SIZE.name, "sum"),
        rolled_scale=1 / 1024,  # the measure's KB, the figure's MB
        export=Export("bundle.size"),
    )
)
register_figure(
    on(
        SIZE,
        "avg",
        name="bundle.avg_size",
        label="Average bundle size",
        summary=(*BUNDLES, "avgSize", "kb"),
        shown=False,
        target=500,
    )
)
register_figure(
    on(
        LOAD_TIME,
        "avg",
        name="bundle.load_time",
        label="Bundle load time",
        summary=(*BUNDLES, "avgLoadTime"),
        export=Export("bundle.load_time", {"stat": "avg"}),
        target=500,
        threshold=1000,
        health="performance",
        rule=RuleSpec(
            "performance",
            "Bundle load time high",
            ("bundle", "loadTime"),
            {"warning": 1000},
            MS,
            "Check CDN and bundle splitting",
        ),
    )
)
register_figure(
    on(
        CACHED,
        "rate",
        name="bundle.cache_hit_rate",
        label="Bundle cache hit rate",
        summary=(*BUNDLES, "cacheHitRate"),
        export=Export("bundle.cache_hit_rate"),
        target=70,
        threshold=50,
        health="performance",
        rule=RuleSpec(
            "performance",
            "Bundle cache hit rate low",
            ("bundle", "cacheHitRate"),
            {"warning": 50},
            PERCENT,
            "Check cache headers of the bundles",
        ),
    )
)
register_figure(
    Figure(
        "bundle.size",
        "Widget bundle size",
        "MB",
        _B,
        "value",
        scan=PER_LOAD_SIZE_SQL,
        threshold=1,
        rule=RuleSpec(
            "performance",
            "Widget bundle size large",
            ("bundle", "sizeMb"),
            {"warning": 1},
            MB,
            "Review the last deploy's bundle size",
            needs_samples=False,
            window="current (last 5 min)",
        ),
    )
)
