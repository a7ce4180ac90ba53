"""Persistence: saves and restores of conversations, session restoration, cross-page navigation."""

from __future__ import annotations

from analytics.figures.bounds import COUNT, MS, PERCENT
from analytics.figures.declare import on
from analytics.figures.figure import Export, Figure, Measure, RuleSpec, Tally
from analytics.figures.registry import register_figure, register_measure, register_tally

OPS, PERF = ("persistence", "operations"), ("persistence", "performance")
RESTORE, NAV = ("persistence", "restoration"), ("persistence", "navigation")

DURATION = register_measure(
    Measure(
        "persistence.duration", "Persistence duration", "value", ("persistence",), "duration", "ms", "p95"
    )
)
SUCCESS = register_measure(
    Measure(
        "persistence.successRate",
        "Persistence success rate",
        "rate",
        ("persistence",),
        "success",
        "%",
        "rate",
        higher_is_better=True,
    )
)
ERRORS = register_measure(
    Measure(
        "persistence.errorRate",
        "Persistence error rate",
        "rate",
        ("persistence",),
        "NOT success",
        "%",
        "rate",
    )
)
# the failed operations by error type, as the summary lists them
ERRORS_BY_TYPE = register_tally(
    Tally(
        "persistence.errorsByType",
        "Failed operations by error type",
        ERRORS.types,
        ERRORS.expr,  # the failed operations: those the error rate counts
        "coalesce(error_type, 'unknown')",
        summary=("persistence", "reliability", "errorsByType"),
    )
)
DATA_LOSS = register_measure(
    Measure(
        "persistence.dataLoss",
        "Data loss incidents",
        "count",
        ("persistence", "navigation"),
        "(type = 'persistence' AND data_loss) OR (type = 'navigation' AND NOT data_preserved)",
        "count",
        "count",
    )
)
RESTORE_TIME = register_measure(
    Measure("restoration.duration", "Restore time", "value", ("restoration",), "duration", "ms", "p95")
)
RESTORED = register_measure(
    Measure(
        "restoration.successRate",
        "Restore success rate",
        "rate",
        ("restoration",),
        "success",
        "%",
        "rate",
        higher_is_better=True,
    )
)
# the messages a successful restoration brought back (a failed one restores none)
MESSAGES_RESTORED = register_measure(
    Measure(
        "restoration.messagesRestored",
        "Messages restored",
        "value",
        ("restoration",),
        "CASE WHEN success THEN messages_restored END",
        "",
        "avg",
        higher_is_better=True,
    )
)
NAV_TIME = register_measure(
    Measure("navigation.duration", "Navigation duration", "value", ("navigation",), "duration", "ms", "p95")
)
NAV_SUCCESS = register_measure(
    Measure(
        "navigation.successRate",
        "Navigation success rate",
        "rate",
        ("navigation",),
        "success",
        "%",
        "rate",
        higher_is_better=True,
    )
)
PRESERVED = register_measure(
    Measure(
        "navigation.dataPreservedRate",
        "Navigation data preserved",
        "rate",
        ("navigation",),
        "data_preserved",
        "%",
        "rate",
        higher_is_better=True,
    )
)

_P = ("persistence",)

# storage operations
register_figure(
    Figure(
        "persistence.operations",
        "Operations",
        "",
        _P,
        "count",
        "count(*)",
        higher_is_better=None,
        summary=(*OPS, "total"),
        rolled=("persistence.successRate", "events"),
        shape="int",
        export=Export("persistence.operations"),
    )
)
register_figure(
    Figure(
        "persistence.successful",
        "Successful",
        "",
        _P,
        "count",
        "count(*) FILTER (success)",
        higher_is_better=None,
        summary=(*OPS, "successful"),
        rolled=("persistence.successRate", "count"),
        shape="int",
    )
)
register_figure(
    Figure(
        "persistence.failed",
        "Failed",
        "",
        _P,
        "count",
        "count(*) FILTER (success IS NOT TRUE)",
        summary=(*OPS, "failed"),
        rolled=("persistence.successRate", "unmatched"),
        shape="int",
    )
)
register_figure(
    on(
        SUCCESS,
        "rate",
        name="persistence.success_rate",
        label="Persistence success rate",
        summary=(*OPS, "successRate"),
        export=Export("persistence.success_rate"),
        target=99,
        threshold=95,
        health="persistence",
        rule=RuleSpec(
            "persistence",
            "Persistence success rate low",
            ("persistence", "successRate"),
            {"error": 95, "critical": 90},
            PERCENT,
            "Investigate the storage adapter; below 90 %: immediate investigation",
        ),
    )
)
register_figure(
    Figure(
        "persistence.error_rate",
        "Persistence error rate",
        "%",
        _P,
        "rate",
        "success IS NOT TRUE",
        summary=(*OPS, "errorRate"),
        shown=False,
        series=("persistence.errorRate", "rate"),
        export=Export("persistence.error_rate"),
        threshold=1,
    )
)
# durations
register_figure(
    on(
        DURATION,
        "avg",
        name="persistence.avg_duration",
        label="Persistence average duration",
        summary=(*PERF, "avgDuration"),
        export=Export("persistence.duration", {"stat": "avg"}),
    )
)
register_figure(
    on(
        DURATION,
        "p50",
        name="persistence.p50_duration",
        label="Persistence p50 duration",
        summary=(*PERF, "p50Duration"),
        export=Export("persistence.duration", {"stat": "p50"}),
    )
)
register_figure(
    on(
        DURATION,
        "p95",
        name="persistence.p95_duration",
        label="Persistence p95 duration",
        summary=(*PERF, "p95Duration"),
        export=Export("persistence.duration", {"stat": "p95"}),
        target=100,
        threshold=200,
        health="persistence",
        baseline=True,
        rule=RuleSpec(
            "persistence",
            "Persistence p95 duration high",
            ("persistence", "p95Duration"),
            {"warning": 200},
            MS,
            "Performance review",
        ),
    )
)
register_figure(
    on(
        DURATION,
        "p99",
        name="persistence.p99_duration",
        label="Persistence p99 duration",
        summary=(*PERF, "p99Duration"),
        export=Export("persistence.duration", {"stat": "p99"}),
    )
)
# session restoration
_R = ("restoration",)
register_figure(
    Figure(
        "restoration.total",
        "Restores",
        "",
        _R,
        "count",
        "count(*)",
        higher_is_better=None,
        summary=(*RESTORE, "total"),
        rolled=("restoration.successRate", "events"),
        shape="int",
    )
)
register_figure(
    on(
        RESTORED,
        "rate",
        name="restoration.success_rate",
        label="Restore success rate",
        summary=(*RESTORE, "successRate"),
        export=Export("persistence.restore_success_rate"),
        target=99,
        threshold=95,
        health="persistence",
    )
)
register_figure(
    on(
        RESTORE_TIME,
        "avg",
        name="restoration.avg_duration",
        label="Average restore time",
        summary=(*RESTORE, "avgDuration"),
        export=Export("persistence.restore_time", {"stat": "avg"}),
        target=100,
        threshold=200,
        health="persistence",
    )
)
register_figure(
    on(
        RESTORE_TIME,
        "p95",
        name="persistence.restore_time",
        label="Conversation restore p95",
        threshold=200,
        baseline=True,
        rule=RuleSpec(
            "persistence",
            "Conversation restore p95 slow",
            ("persistence", "restoreTime"),
            {"warning": 200},
            MS,
            "Profile conversation restoration",
        ),
    )
)
register_figure(
    on(
        MESSAGES_RESTORED,
        "avg",
        name="restoration.avg_messages",
        label="Messages restored",
        higher_is_better=None,
        summary=(*RESTORE, "avgMessagesRestored"),
    )
)
# cross-page navigation
_N = ("navigation",)
register_figure(
    Figure(
        "navigation.total",
        "Navigations",
        "",
        _N,
        "count",
        "count(*)",
        higher_is_better=None,
        summary=(*NAV, "total"),
        rolled=("navigation.dataPreservedRate", "events"),
        shape="int",
    )
)
register_figure(
    on(
        NAV_SUCCESS,
        "count",
        name="navigation.success_count",
        label="Successful navigations",
        summary=(*NAV, "successCount"),
        shape="int",
    )
)
register_figure(
    Figure(
        "navigation.data_preserved",
        "Data preserved",
        "",
        _N,
        "count",
        "count(*) FILTER (data_preserved)",
        higher_is_better=None,
        summary=(*NAV, "dataPreservedCount"),
        rolled=("navigation.dataPreservedRate", "count"),
        shape="int",
    )
)
register_figure(
    Figure(
        "navigation.data_lost",
        "Data lost",
        "",
        _N,
        "count",
        "count(*) FILTER (NOT data_preserved)",
        summary=(*NAV, "dataLossCount"),
        rolled=(PRESERVED.name, "unmatched"),  # dataPreserved is required of a navigation
        shape="int",
        export=Export("persistence.navigation_data_loss"),
        threshold=0,
    )
)
register_figure(
    on(
        NAV_TIME,
        "avg",
        name="navigation.avg_duration",
        label="Average navigation time",
        summary=(*NAV, "avgDuration"),
    )
)
# Success of cross-page navigation counts like that of storage operations in health.
register_figure(
    on(
        NAV_SUCCESS,
        "rate",
        name="navigation.success_rate",
        label="Navigation success rate",
        summary=(*NAV, "successRate"),
        shown=False,
        target=99,
        threshold=95,
        health="persistence",
    )
)
# data loss: a lost save, or a navigation that did not keep the conversation
register_figure(
    Figure("persistence.lost_saves", "Saves that lost data", "", _P, "count", "count(*) FILTER (data_loss)")
)
register_figure(
    Figure(
        "persistence.data_loss",
        "Data loss incidents",
        "",
        kind="count",
        sum_of=("persistence.lost_saves", "navigation.data_lost"),
        summary=("persistence", "reliability", "dataLossIncidents"),
        shape="int",
        series=(DATA_LOSS.name, "count"),
        export=Export("persistence.data_loss"),
        threshold=0,
        rule=RuleSpec(
            "persistence",
            "Conversation data lost",
            ("persistence", "dataLoss"),
            {"critical": 0},
            COUNT,
            "Emergency response",
            needs_samples=False,
            window="any",
        ),
    )
)
