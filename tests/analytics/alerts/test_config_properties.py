"""Property: an accepted threshold can both fire and resolve; a refused one cannot do one of them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.alerts.config import parse_config
from analytics.alerts.rules import RULES, THRESHOLD_RULES, AlertRule
from analytics.errors import InvalidConfig

SINGLE_LEVEL = [r for r in THRESHOLD_RULES if len(r.levels) == 1]


def probes(rule: AlertRule, threshold: float) -> list[float]:
    """Values the figure can take, around the threshold and at its bounds."""
    low, high = rule.bounds
    high = min(high, 1e12)
    around = [threshold + d for d in (-1.0, -1e-6, 0.0, 1e-6, 1.0)] + [threshold * 0.5, threshold * 2]
    return [v for v in [low, high, *around] if low <= v <= high and math.isfinite(v)]


@settings(max_examples=300, deadline=None)
@given(
    rule=st.sampled_from(SINGLE_LEVEL),
    threshold=st.floats(min_value=-2000, max_value=4_000_000, allow_nan=False),
)
def test_accepted_thresholds_can_fire_and_resolve(rule: AlertRule, threshold: float) -> None:
    group, key = rule.config_key
    values = probes(rule, threshold)
    can_fire = any(rule.past(v, threshold) for v in values)
    can_resolve = any(not rule.past(v, threshold) for v in values)
    try:
        parse_config({"thresholds": {group: {key: threshold}}})
    except InvalidConfig as refused:
        assert not (can_fire and can_resolve), f"refused a workable threshold: {refused}"
        assert "never" in refused.message
    else:
        assert can_fire and can_resolve


@pytest.mark.parametrize("rule", [r for r in RULES.values() if len(r.levels) > 1], ids=lambda r: r.id)
def test_defaults_of_multi_level_rules_round_trip(rule: AlertRule) -> None:
    group, key = rule.config_key
    levels = {lv.severity: lv.threshold for lv in rule.levels}
    assert parse_config({"thresholds": {group: {key: levels}}}).levels[rule.id] == rule.levels
