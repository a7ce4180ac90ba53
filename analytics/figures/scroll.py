"""Scrolling the conversation: frames per second and jank."""

from __future__ import annotations

from analytics.figures.bounds import FPS, PERCENT
from analytics.figures.declare import on
from analytics.figures.figure import Export, Measure, RuleSpec
from analytics.figures.registry import register_figure, register_measure

SCROLL = ("performance", "scroll")

AVG_FPS = register_measure(
    Measure(
        "scroll.avgFps", "Scroll FPS", "value", ("scroll",), "avg_fps", "fps", "avg", higher_is_better=True
    )
)
MIN_FPS = register_measure(
    Measure(
        "scroll.minFps",
        "Minimum scroll FPS",
        "value",
        ("scroll",),
        "coalesce(min_fps, avg_fps)",
        "fps",
        "min",
        higher_is_better=True,
    )
)
JANK = register_measure(
    Measure("scroll.jankPercentage", "Scroll jank", "value", ("scroll",), "jank_percentage", "%", "avg")
)

register_figure(
    on(
        AVG_FPS,
        "avg",
        name="scroll.fps",
        label="Scroll FPS",
        summary=(*SCROLL, "avgFps"),
        export=Export("scroll.fps", {"stat": "avg"}),
        target=58,
        threshold=55,
        health="performance",
        baseline=True,
        rule=RuleSpec(
            "scroll", "Scroll FPS low", ("scroll", "fps"), {"warning": 55}, FPS, "Scroll optimization"
        ),
    )
)
register_figure(
    on(
        MIN_FPS,
        "min",
        name="scroll.min_fps",
        label="Minimum scroll FPS",
        summary=(*SCROLL, "minFps"),
        export=Export("scroll.fps", {"stat": "min"}),
    )
)
register_figure(
    on(
        JANK,
        "avg",
        name="scroll.jank_percentage",
        label="Scroll jank",
        summary=(*SCROLL, "jankPercentage"),
        export=Export("scroll.jank_percentage"),
        target=5,
        threshold=10,
        health="performance",
        rule=RuleSpec(
            "scroll",
            "Scroll jank high",
            ("scroll", "jankPercentage"),
            {"warning": 10},
            PERCENT,
            "Identify bottlenecks",
        ),
    )
)
