"""Config from files and at run time: what works, and a clear reason for what cannot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analytics.alerts.channel_settings import MASK
from analytics.alerts.config import AlertingConfig, load_config_file, parse_config
from analytics.alerts.rules import Level
from analytics.alerts.system import AlertingSystem
from analytics.errors import InvalidConfig
from analytics.outbound import OutboundPolicy
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import NOW, ev, put

LOOPBACK = OutboundPolicy(["127.0.0.1"])  # the examples name loopback hosts

SEED_EXAMPLE = {  # "Advanced: Custom Alerting" in the seed, plus the webhook's address
    "enabled": True,
    "checkIntervalMs": 30000,
    "thresholds": {
        "persistence": {"successRate": 97, "restoreTime": 150, "dataLoss": 0},
        "performance": {"renderTime": 12, "degradationPercent": 15},
    },
    "channels": ["console", "webhook"],
    "webhook": {"url": "http://127.0.0.1:9/hook"},
}


def test_the_seed_example_is_accepted() -> None:
    config = parse_config(SEED_EXAMPLE, policy=LOOPBACK)
    assert config.levels["persistence.success_rate"] == (Level("error", 97.0), Level("critical", 90.0))
    assert config.levels["persistence.restore_time"] == (Level("warning", 150.0),)
    assert config.levels["render.message_time"] == (Level("warning", 12.0),)
    assert config.levels["scroll.fps.degradation"] == (Level("warning", 15.0),)
    assert config.channels == ("console", "webhook")
    assert config.check_interval_ms == 30_000


def test_defaults() -> None:
    config = AlertingConfig()
    assert (config.min_samples, config.check_interval_ms, config.window_ms) == (10, 30_000, 300_000)
    assert parse_config({}) == config
    assert parse_config(config.to_dict()) == config  # GET, then PUT unchanged, changes nothing


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        pytest.param(
            {"thresholds": {"persistence": {"successRate": 0}}}, "can never fire", id="rate-below-0"
        ),
        pytest.param(
            {"thresholds": {"persistence": {"successRate": 100.5}}}, "can never resolve", id="rate-above-100"
        ),
        pytest.param(
            {"thresholds": {"api": {"errorRate": {"warning": 100}}}}, "can never fire", id="error-rate-100"
        ),
        pytest.param(
            {"thresholds": {"persistence": {"dataLoss": -1}}}, "can never resolve", id="data-loss-negative"
        ),
        pytest.param(
            {"thresholds": {"performance": {"renderTime": -5}}}, "can never resolve", id="negative-ms"
        ),
        pytest.param({"thresholds": {"scroll": {"fps": 0}}}, "can never fire", id="fps-0"),
        pytest.param({"thresholds": {"scroll": {"fps": 1001}}}, "can never resolve", id="fps-1001"),
        pytest.param(
            {"thresholds": {"performance": {"degradationPercent": 100}}},
            "can never fire for scroll.fps",
            id="deg-100",
        ),
        pytest.param(
            {"thresholds": {"performance": {"degradationPercent": 0}}}, "must be above 0", id="deg-0"
        ),
        pytest.param(
            {"thresholds": {"persistence": {"successRate": {"error": 90, "critical": 95}}}},
            "critical threshold .95. must be below the error threshold .90.",
            id="levels-out-of-order",
        ),
        pytest.param(
            {"thresholds": {"memory": {"peakMb": 80}}},
            "error threshold .75. must be above the warning threshold .80.",
            id="scalar-passes-next-level",
        ),
        pytest.param(
            {"thresholds": {"memory": {"peakMb": {"urgent": 80}}}}, "severity must be one of", id="severity"
        ),
        pytest.param({"thresholds": {"persistence": {"sucessRate": 97}}}, "unknown threshold", id="typo"),
        pytest.param(
            {"thresholds": {"api": {"latency": "fast"}}}, "must be a finite number", id="not-a-number"
        ),
        pytest.param({"thresholds": {"api": {"latency": True}}}, "must be a finite number", id="bool"),
        pytest.param({"minSamples": 0}, "minSamples: must be an integer from 1", id="min-samples-0"),
        pytest.param({"checkIntervalMs": 10}, "checkIntervalMs: must be an integer from 1000", id="interval"),
        pytest.param({"autoResolveAfterChecks": 0}, "autoResolveAfterChecks", id="auto-resolve-0"),
        pytest.param({"channels": ["pager"]}, "unknown channel 'pager'", id="channel"),
        pytest.param({"channels": ["webhook"]}, "webhook.url is not set", id="webhook-without-url"),
        pytest.param({"channels": ["email"]}, "email .host, from, to. is not set", id="email-without-server"),
        pytest.param({"webhook": {"url": "ftp://x"}}, "must start with http", id="webhook-scheme"),
        pytest.param({"email": {"host": "h", "from": "a@b", "to": []}}, "email.to", id="no-recipient"),
        pytest.param(
            {"baseline": "yesterday"}, "baseline: must be one of auto, captured, rolling", id="baseline"
        ),
        pytest.param({"disabledRules": ["nope"]}, "unknown rule 'nope'", id="disabled-unknown"),
        pytest.param({"checkInterval": 30000}, "checkInterval: unknown setting", id="unknown-key"),
        pytest.param([1, 2], "must be an object", id="not-an-object"),
    ],
)
def test_invalid_configs_are_refused_with_the_reason(doc: Any, reason: str) -> None:
    with pytest.raises(InvalidConfig, match=reason) as refused:
        parse_config(doc)
    assert refused.value.status == 422


def test_a_changed_threshold_changes_when_the_rule_fires(store: EventStore) -> None:
    ops = [ev("persistence", operation="save", success=True, duration=5.0)] * 96
    ops += [ev("persistence", operation="save", success=False, duration=5.0)] * 4
    put(store, ops)
    system = AlertingSystem(store)
    system.check(now=NOW)
    assert system.alerts() == []  # 96 % is fine by default (< 95 % is the error level)
    system.set_config({"thresholds": {"persistence": {"successRate": 97}}}, by="alice")
    system.check(now=NOW)
    (alert,) = system.alerts()
    assert (alert.severity, alert.threshold, alert.value) == ("error", 97.0, 96.0)


def test_config_files_json_and_toml(tmp_path: Path) -> None:
    json_file = tmp_path / "alerts.json"
    json_file.write_text(json.dumps(SEED_EXAMPLE))
    toml_file = tmp_path / "alerts.toml"
    toml_file.write_text(
        "checkIntervalMs = 60000\nminSamples = 20\nperCustomer = true\n"
        'channels = ["console", "email"]\n\n'
        "[thresholds.persistence]\nsuccessRate = { error = 98, critical = 93 }\n\n"
        '[email]\nhost = "127.0.0.1"\nport = 2525\nfrom = "alerts@example.com"\nto = ["oncall@example.com"]\n'
    )
    assert load_config_file(json_file, policy=LOOPBACK) == parse_config(SEED_EXAMPLE, policy=LOOPBACK)
    toml = load_config_file(toml_file, policy=LOOPBACK)
    assert (toml.check_interval_ms, toml.min_samples, toml.per_customer) == (60_000, 20, True)
    assert toml.levels["persistence.success_rate"] == (Level("error", 98.0), Level("critical", 93.0))
    assert toml.email is not None and toml.email.port == 2525
    bad = tmp_path / "bad.toml"
    bad.write_text("minSamples = ")
    with pytest.raises(InvalidConfig, match="not valid TOML"):
        load_config_file(bad, policy=LOOPBACK)
    with pytest.raises(InvalidConfig, match="cannot read"):
        load_config_file(tmp_path / "missing.json")


def test_run_time_config_is_stored_and_the_password_never_shown(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path / "data")
    email = {"host": "127.0.0.1", "from": "a@example.com", "to": ["b@example.com"], "password": "s3cret"}
    system = AlertingSystem(store, policy=LOOPBACK)
    system.set_config({"minSamples": 30, "email": email})
    shown = system.config.to_dict()
    assert shown["email"]["password"] == MASK
    system.set_config(shown)  # PUT back what GET showed: the password is kept
    assert system.config.email is not None and system.config.email.password == "s3cret"
    store.close()
    store = EventStore.open(tmp_path / "data")
    try:
        restarted = AlertingSystem(store, policy=LOOPBACK)
        assert restarted.config.min_samples == 30
        assert restarted.config.email is not None and restarted.config.email.password == "s3cret"
        # a config given at start (the config file) replaces what was stored
        assert AlertingSystem(store, config=parse_config({"minSamples": 12})).config.min_samples == 12
        assert AlertingSystem(store).config.min_samples == 12
    finally:
        store.close()


def test_a_refused_change_keeps_the_running_config(store: EventStore) -> None:
    system = AlertingSystem(store)
    system.set_config({"minSamples": 15})
    with pytest.raises(InvalidConfig):
        system.set_config({"minSamples": 15, "thresholds": {"scroll": {"fps": 0}}})
    assert system.config.min_samples == 15
    assert system.config.levels["scroll.fps"] == (Level("warning", 55.0),)
