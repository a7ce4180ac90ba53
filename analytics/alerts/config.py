"""What a user may change about alerting, and the checks that refuse what cannot work.

The document follows the seed's `AlertingConfig` (`enabled`, `checkIntervalMs`,
`thresholds: {persistence: {successRate: 97, ...}}`, `channels: ['console', 'webhook']`)
and adds what a running service needs: the evaluation window, minimum samples,
auto-resolve, per-customer scopes, the baseline to compare with, and channel settings
(read by `channel_settings`).

A threshold is a number (it moves the rule's least severe level) or an object by
severity (`{"error": 95, "critical": 90}`, which replaces the levels). A threshold that
can never fire, or never resolve, is refused with the reason.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from analytics.alerts.channel_settings import (
    AlertmanagerSettings,
    EmailSettings,
    WebhookSettings,
    check_targets,
    read_alertmanager,
    read_channels,
    read_email,
    read_webhook,
)
from analytics.alerts.config_values import boolean, choice, integer, mapping, no_unknown, number, string
from analytics.alerts.rules import (
    SEVERITIES,
    SEVERITY_RANK,
    AlertRule,
    Level,
    rules,
)
from analytics.errors import InvalidConfig
from analytics.outbound import OutboundPolicy

BaselineSource = Literal["auto", "captured", "rolling"]


def _default_levels() -> dict[str, tuple[Level, ...]]:
    return {rule.id: rule.levels for rule in rules().values()}


@dataclass(frozen=True, slots=True)
class AlertingConfig:
    """The validated configuration. Build it with `parse_config` or `load_config_file`."""

    enabled: bool = True
    check_interval_ms: int = 30_000
    window_ms: int = 300_000
    min_samples: int = 10
    auto_resolve_after_checks: int = 3
    per_customer: bool = False
    # Customers evaluated one by one, at most (the busiest, and those with open alerts);
    # past it, the others count in the global scope only.
    max_customer_scopes: int = 200
    baseline: BaselineSource = "auto"
    history_limit: int = 1000
    levels: dict[str, tuple[Level, ...]] = field(default_factory=_default_levels)
    disabled_rules: frozenset[str] = frozenset()
    channels: tuple[str, ...] = ("console",)
    webhook: WebhookSettings | None = None
    email: EmailSettings | None = None
    alertmanager: AlertmanagerSettings | None = None
    external_url: str = ""

    def level_of(self, rule_id: str, severity: str | None = None) -> float | None:
        """The threshold in force for a rule at `severity` (default: its least severe level);
        None when the rule is disabled or has no such level.

        >>> config = AlertingConfig()
        >>> config.level_of("memory.peak"), config.level_of("memory.peak", "error")
        (50.0, 75.0)
        """
        if rule_id in self.disabled_rules or rule_id not in rules():
            return None
        levels = self.levels_of(rules()[rule_id])
        if severity is None:
            return levels[0].threshold if levels else None
        return next((level.threshold for level in levels if level.severity == severity), None)

    def rules(self) -> list[AlertRule]:
        """The enabled rules."""
        return [rule for rule in rules().values() if rule.id not in self.disabled_rules]

    def levels_of(self, rule: AlertRule) -> tuple[Level, ...]:
        """The rule's levels in force: as configured, or its defaults for a rule the
        configuration predates (a figure registered since)."""
        return self.levels.get(rule.id, rule.levels)

    def to_dict(self) -> dict[str, Any]:
        """The wire form (camelCase); the SMTP password, the webhook and Alertmanager URLs are masked.

        The channel secrets never leave in this form: `channel_secrets` keeps them apart.
        """
        thresholds: dict[str, dict[str, Any]] = {}
        for rule in rules().values():
            group, key = rule.config_key
            levels = self.levels_of(rule)
            value: Any = (
                levels[0].threshold if len(levels) == 1 else {lv.severity: lv.threshold for lv in levels}
            )
            thresholds.setdefault(group, {})[key] = value
        email = None if self.email is None else self.email.to_dict()
        webhook = None if self.webhook is None else self.webhook.to_dict()
        alertmanager = None if self.alertmanager is None else self.alertmanager.to_dict()
        return {
            "enabled": self.enabled,
            "checkIntervalMs": self.check_interval_ms,
            "windowMs": self.window_ms,
            "minSamples": self.min_samples,
            "autoResolveAfterChecks": self.auto_resolve_after_checks,
            "perCustomer": self.per_customer,
            "maxCustomerScopes": self.max_customer_scopes,
            "baseline": self.baseline,
            "historyLimit": self.history_limit,
            "thresholds": thresholds,
            "disabledRules": sorted(self.disabled_rules),
            "channels": list(self.channels),
            "webhook": webhook,
            "email": email,
            "alertmanager": alertmanager,
            "externalUrl": self.external_url,
        }


_TOP_KEYS = {
    "enabled",
    "checkIntervalMs",
    "windowMs",
    "minSamples",
    "autoResolveAfterChecks",
    "perCustomer",
    "maxCustomerScopes",
    "baseline",
    "historyLimit",
    "thresholds",
    "disabledRules",
    "channels",
    "webhook",
    "email",
    "alertmanager",
    "externalUrl",
}


def _by_key() -> dict[tuple[str, str], list[AlertRule]]:
    by_key: dict[tuple[str, str], list[AlertRule]] = {}
    for rule in rules().values():
        by_key.setdefault(rule.config_key, []).append(rule)
    return by_key


def parse_config(
    raw: Any, *, current: AlertingConfig | None = None, policy: OutboundPolicy | None = None
) -> AlertingConfig:
    """Validate a config document; missing keys take the defaults.

    `current` supplies the SMTP password and the webhook and Alertmanager URLs where the
    document carries the masked values GET shows (see `channel_settings`). `policy` says
    which webhook, Alertmanager and SMTP hosts may be reached; the default refuses every
    internal address.

    >>> parse_config({"thresholds": {"persistence": {"successRate": 97}}}).levels["persistence.success_rate"]
    (Level(severity='error', threshold=97.0), Level(severity='critical', threshold=90.0))
    >>> parse_config({"minSamples": 0})
    Traceback (most recent call last):
    ...
    analytics.errors.InvalidConfig: minSamples: must be an integer from 1 to 1000000, got 0
    """
    config = read_config(raw, current=current)
    check_targets(
        policy or OutboundPolicy(),
        webhook=config.webhook,
        email=config.email,
        alertmanager=config.alertmanager,
    )
    return config


def read_config(raw: Any, *, current: AlertingConfig | None = None) -> AlertingConfig:
    """`parse_config` without asking where the channel hosts resolve to.

    For a config stored earlier: its targets were checked when it was set, and every send
    checks them again, so a restart never drops a config because DNS is down.
    """
    doc = mapping(raw, "config")
    no_unknown(doc, _TOP_KEYS, "")
    base = AlertingConfig()
    levels = _thresholds(doc.get("thresholds", {}))
    config = replace(
        base,
        enabled=boolean(doc, "enabled", base.enabled),
        check_interval_ms=integer(doc, "checkIntervalMs", base.check_interval_ms, 1_000, 86_400_000),
        window_ms=integer(doc, "windowMs", base.window_ms, 1_000, 86_400_000),
        min_samples=integer(doc, "minSamples", base.min_samples, 1, 1_000_000),
        auto_resolve_after_checks=integer(
            doc, "autoResolveAfterChecks", base.auto_resolve_after_checks, 1, 10_000
        ),
        per_customer=boolean(doc, "perCustomer", base.per_customer),
        max_customer_scopes=integer(doc, "maxCustomerScopes", base.max_customer_scopes, 1, 100_000),
        baseline=choice(doc, "baseline", base.baseline, ("auto", "captured", "rolling")),
        history_limit=integer(doc, "historyLimit", base.history_limit, 10, 1_000_000),
        levels=levels,
        disabled_rules=_disabled(doc.get("disabledRules", [])),
        channels=read_channels(doc, base.channels),
        webhook=read_webhook(doc.get("webhook"), current.webhook if current else None),
        email=read_email(doc.get("email"), current.email if current else None),
        alertmanager=read_alertmanager(doc.get("alertmanager"), current.alertmanager if current else None),
        external_url=string(doc, "externalUrl", "", allow_empty=True),
    )
    _check_channels(config)
    return config


def load_config_file(path: str | Path, *, policy: OutboundPolicy | None = None) -> AlertingConfig:
    """Read a JSON (`.json`) or TOML (`.toml`) config file; `policy` as for `parse_config`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidConfig(f"cannot read alerting config {file}: {exc.strerror}") from exc
    try:
        raw = tomllib.loads(text) if file.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InvalidConfig(f"alerting config {file} is not valid {file.suffix[1:].upper()}: {exc}") from exc
    return parse_config(raw, policy=policy)


def _check_channels(config: AlertingConfig) -> None:
    if "webhook" in config.channels and config.webhook is None:
        raise InvalidConfig("channels: 'webhook' is listed but webhook.url is not set")
    if "email" in config.channels and config.email is None:
        raise InvalidConfig("channels: 'email' is listed but email (host, from, to) is not set")
    if "alertmanager" in config.channels and config.alertmanager is None:
        raise InvalidConfig(
            "channels: 'alertmanager' is listed but alertmanager.url (the Alertmanager's base URL, "
            "e.g. http://alertmanager:9093) is not set"
        )


def _thresholds(raw: Any) -> dict[str, tuple[Level, ...]]:
    groups = mapping(raw, "thresholds")
    levels = _default_levels()
    by_key = _by_key()
    known = sorted(f"{g}.{k}" for g, k in by_key)
    for group, entries in groups.items():
        for key, value in mapping(entries, f"thresholds.{group}").items():
            path = f"thresholds.{group}.{key}"
            keyed = by_key.get((group, key))
            if keyed is None:
                raise InvalidConfig(f"{path}: unknown threshold; known: {', '.join(known)}")
            for rule in keyed:
                levels[rule.id] = _levels(rule, value, path)
    return levels


def _levels(rule: AlertRule, value: Any, path: str) -> tuple[Level, ...]:
    if isinstance(value, Mapping):
        if not value:
            raise InvalidConfig(f"{path}: give at least one severity, e.g. {{'warning': ...}}")
        out = []
        for severity, threshold in value.items():
            if severity not in SEVERITIES:
                raise InvalidConfig(f"{path}.{severity}: severity must be one of {', '.join(SEVERITIES)}")
            out.append(Level(severity, number(threshold, f"{path}.{severity}")))
        levels = tuple(sorted(out, key=lambda level: SEVERITY_RANK[level.severity]))
    else:
        first = Level(rule.levels[0].severity, number(value, path))
        levels = (first, *rule.levels[1:])
    for level in levels:
        _check_reachable(rule, level, f"{path}.{level.severity}" if isinstance(value, Mapping) else path)
    for milder, worse in pairwise(levels):
        stricter = (
            worse.threshold > milder.threshold
            if rule.direction == "above"
            else worse.threshold < milder.threshold
        )
        if not stricter:
            word = "above" if rule.direction == "above" else "below"
            raise InvalidConfig(
                f"{path}: the {worse.severity} threshold ({worse.threshold:g}) must be {word} the "
                f"{milder.severity} threshold ({milder.threshold:g}), or the {worse.severity} level "
                "would fire before the milder one"
            )
    return levels


def _check_reachable(rule: AlertRule, level: Level, path: str) -> None:
    low, high = rule.bounds
    t = level.threshold
    unit = rule.unit
    if rule.kind == "degradation":
        if t <= 0:
            raise InvalidConfig(
                f"{path}: {t:g} % must be above 0 %, or a figure no worse than its baseline would fire"
            )
        if t >= high:
            raise InvalidConfig(
                f"{path}: {t:g} % can never fire for {rule.metric}: it can lose at most 100 %"
            )
        return
    if rule.direction == "above":
        if t >= high:
            raise InvalidConfig(
                f"{path}: {t:g}{unit} can never fire: {rule.metric} is at most {high:g}{unit}"
            )
        if t < low:
            raise InvalidConfig(
                f"{path}: {t:g}{unit} can never resolve: {rule.metric} is never below {low:g}{unit}"
            )
    else:
        if t <= low:
            raise InvalidConfig(
                f"{path}: {t:g}{unit} can never fire: {rule.metric} is never below {low:g}{unit}"
            )
        if t > high:
            raise InvalidConfig(
                f"{path}: {t:g}{unit} can never resolve: {rule.metric} is at most {high:g}{unit}"
            )


def _disabled(raw: Any) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise InvalidConfig("disabledRules: must be a list of rule ids")
    unknown = sorted(set(raw) - set(rules()))
    if unknown:
        raise InvalidConfig(f"disabledRules: unknown rule {unknown[0]!r}; known: {', '.join(rules())}")
    return frozenset(raw)
