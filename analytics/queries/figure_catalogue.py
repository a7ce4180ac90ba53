"""The registry as the API serves it (`GET /api/monitoring/figures`): every figure with the
threshold in force, and the facts a client needs to show figures without a copy of its own.
"""

from __future__ import annotations

from typing import Any

from analytics.alerts.config import AlertingConfig
from analytics.figures import figures
from analytics.queries.health import CATEGORY_WEIGHTS, DEGRADED, HEALTHY
from analytics.queries.metric_catalogue import seed_threshold
from analytics.queries.source import EXACT_SPAN
from analytics.queries.timeseries import BUCKETS, MAX_BUCKETS, threshold_in_force


def describe_figures(alerting: AlertingConfig | None) -> dict[str, Any]:
    """Every figure (`Figure.to_dict`) with `threshold` as in force (the alerting config's
    level for its rule when the rule is enabled, else the seed's), the time buckets, the
    longest range read from raw events (longer ones come from the hourly rollups), the health
    status bands and category weights.
    """
    described = []
    for figure in figures():
        threshold = threshold_in_force(seed_threshold(figure), alerting)
        described.append(
            figure.to_dict()
            | {
                "threshold": None
                if threshold is None
                else threshold.to_dict() | {"rule": threshold.rule, "severity": threshold.severity}
            }
        )
    return {
        "figures": described,
        "buckets": BUCKETS,
        "maxBuckets": MAX_BUCKETS,
        "exactSpanSeconds": int(EXACT_SPAN.total_seconds()),
        "statusBands": {"healthy": HEALTHY, "degraded": DEGRADED},
        "healthWeights": CATEGORY_WEIGHTS,
    }
