"""Message rendering: how long a message takes to render, and how many are slow."""

from __future__ import annotations

from analytics.figures.bounds import MS
from analytics.figures.declare import on
from analytics.figures.figure import Export, Figure, Measure, RuleSpec
from analytics.figures.registry import register_figure, register_measure

SLOW_RENDER_MS = 16  # the seed's render budget: one frame at 60 fps
RENDERS = ("performance", "renders")

RENDER_TIME = register_measure(
    Measure("render.renderTime", "Render time", "value", ("render",), "render_time", "ms", "p95")
)
SLOW = register_measure(
    Measure(
        "render.slowRenderRate",
        f"Slow render rate (>{SLOW_RENDER_MS} ms)",
        "rate",
        ("render",),
        f"render_time > {SLOW_RENDER_MS}",
        "%",
        "rate",
    )
)

register_figure(
    Figure(
        "render.count",
        "Renders",
        "",
        ("render",),
        "count",
        "count(*)",
        higher_is_better=None,
        summary=(*RENDERS, "count"),
        rolled=("render.renderTime", "events"),
        shape="int",
        export=Export("render.count"),
    )
)
register_figure(
    on(
        RENDER_TIME,
        "avg",
        name="render.avg_time",
        label="Render average",
        summary=(*RENDERS, "avgTime"),
        export=Export("render.message_time", {"stat": "avg"}),
        target=10,
    )
)
register_figure(
    on(
        RENDER_TIME,
        "p95",
        name="render.message_time",
        label="Message render p95",
        summary=(*RENDERS, "p95Time"),
        export=Export("render.message_time", {"stat": "p95"}),
        target=10,
        threshold=SLOW_RENDER_MS,
        health="performance",
        baseline=True,
        rule=RuleSpec(
            "performance",
            "Message render p95 slow",
            ("performance", "renderTime"),
            {"warning": SLOW_RENDER_MS},
            MS,
            "Optimize render logic",
        ),
    )
)
register_figure(
    on(
        SLOW,
        "count",
        name="render.slow_renders",
        label=f"Slow renders (>{SLOW_RENDER_MS} ms)",
        summary=(*RENDERS, "slowRenders"),
        shape="int",
        higher_is_better=False,
    )
)
register_figure(
    on(
        SLOW,
        "rate",
        name="render.slow_render_rate",
        label=f"Slow render rate (>{SLOW_RENDER_MS} ms)",
        summary=(*RENDERS, "slowRenderRate"),
        export=Export("render.slow_render_rate"),
    )
)
