"""The seed's `AlertingSystem`: checks, alert actions, baselines and config over one store.

Every public method is safe to call from any thread: a lock serializes the changes to
the alert tables, and each call takes its own cursor. Notifications are handed to the
`notify` callback after the change is committed, outside the lock, so a slow channel
never holds up a check (the callback should only enqueue them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from analytics.alerts import alert_store, lifecycle
from analytics.alerts.alert import AUTO, Alert, Notification, Transition, iso
from analytics.alerts.baseline import (
    baseline_figures,
    baseline_to_wire,
    capture_baseline,
    degradation,
    reference,
    rolling_ranges,
)
from analytics.alerts.channel_secrets import (
    SECRETS_FILENAME,
    load_secrets,
    restore_secrets,
    save_secrets,
    secrets_of,
)
from analytics.alerts.config import AlertingConfig, parse_config, read_config
from analytics.alerts.evaluate import GLOBAL, Readings, TimeRange, empty_readings, measure
from analytics.alerts.rules import baselined_figures
from analytics.errors import BadRequest, InvalidConfig, NotFound, StoreUnavailable
from analytics.ingest.identifiers import one_line
from analytics.outbound import OutboundPolicy
from analytics.storage.store import EventStore
from analytics.transaction import transaction

log = logging.getLogger(__name__)

Notify = Callable[[Sequence[Notification]], None]
MAX_BASELINE_WINDOW = timedelta(days=7)
MAX_SNOOZE = timedelta(days=30)  # as long as the API allows `minutes` to be
# The rolling baseline reads 7 hours of old data; it moves slowly, so a check reuses it
# for a few minutes instead of rescanning those hours every 30 s.
ROLLING_REUSE = timedelta(minutes=5)


@dataclass(slots=True)
class CheckReport:
    """What a check saw and did."""

    checked_at: datetime
    scopes: list[str | None] = field(default_factory=list)
    customers_beyond_cap: int = 0  # customers evaluated only globally (maxCustomerScopes)
    outcome: lifecycle.CheckOutcome = field(default_factory=lifecycle.CheckOutcome)
    open_alerts: list[Alert] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        o = self.outcome
        return {
            "checkedAt": iso(self.checked_at),
            "scopes": self.scopes,
            "customersBeyondCap": self.customers_beyond_cap,
            "fired": o.fired,
            "severityChanged": o.changed,
            "updated": o.updated,
            "resolved": o.resolved,
            "notifications": len(o.notifications),
            "data": [a.to_wire() for a in self.open_alerts],
            "count": len(self.open_alerts),
        }


def capped_scopes(current: dict[str, Readings], held: set[str], cap: int) -> tuple[set[str], int]:
    """The scopes a check evaluates, and how many customers the cap left to the global scope.

    Customers with an open alert are always kept (so that it can resolve); the rest of
    the `cap` goes to the customers with the most samples in the window, ties by name.

    >>> from analytics.alerts.evaluate import Reading
    >>> r = lambda n: {"render.message_time": Reading(1.0, n)}
    >>> scopes, beyond = capped_scopes({GLOBAL: r(9), "a": r(5), "b": r(1), "c": r(3)}, {"b"}, 2)
    >>> sorted(scopes), beyond  # GLOBAL is ""
    (['', 'a', 'b'], 1)
    """
    customers = [scope for scope in current if scope != GLOBAL]
    room = max(cap - len(held), 0)
    busiest = sorted(
        (c for c in customers if c not in held),
        key=lambda c: (-sum(reading.samples for reading in current[c].values()), c),
    )
    kept = set(busiest[:room]) | held
    return {GLOBAL} | kept, len(busiest) - min(room, len(busiest))


class AlertingSystem:
    """Alert rules evaluated over `store`, with their lifecycle kept in the same database.

    `config` (e.g. from a file) replaces the stored config; without it the config last
    stored (through `set_config`) is used, else the defaults. The config is stored in the
    event store with its channel secrets masked; the secrets go to `secrets_file` (default
    `<data_dir>/channel-secrets.json`, see `channel_secrets`). `policy` says which webhook
    and SMTP hosts a config may name (default: no internal address).
    """

    def __init__(
        self,
        store: EventStore,
        *,
        config: AlertingConfig | None = None,
        notify: Notify | None = None,
        future_skew: timedelta = timedelta(seconds=60),
        policy: OutboundPolicy | None = None,
        secrets_file: Path | None = None,
    ) -> None:
        self._store = store
        self._notify = notify
        self._future_skew = future_skew
        self._policy = policy or OutboundPolicy()
        self._secrets_file = secrets_file or store.path.parent / SECRETS_FILENAME
        self._lock = threading.RLock()
        self._listeners: list[Callable[[AlertingConfig], None]] = []
        self._check_listeners: list[Callable[[CheckReport], None]] = []
        self._rolling: tuple[datetime, bool, dict[str, Readings]] | None = None
        self.customers_beyond_cap = 0  # as of the last check
        with self._cursor() as cur:
            alert_store.create_tables(cur)
            if config is not None:
                self._save(cur, config, _now(), "config file")
                self._config = config
            else:
                self._config = self._stored_config(cur)

    # -- config ---------------------------------------------------------------------------
    @property
    def config(self) -> AlertingConfig:
        return self._config

    @property
    def policy(self) -> OutboundPolicy:
        """Which webhook and SMTP hosts may be reached (checked on every change and send)."""
        return self._policy

    def on_config(self, listener: Callable[[AlertingConfig], None]) -> None:
        """Call `listener` with the new config after each change (e.g. to reconfigure channels)."""
        self._listeners.append(listener)

    def on_check(self, listener: Callable[[CheckReport], None]) -> None:
        """Call `listener` with each check's report, after its notifications were handed on
        (e.g. to push the open alerts to Alertmanager again); it should only enqueue."""
        self._check_listeners.append(listener)

    def set_config(self, raw: Any, *, by: str = "api", now: datetime | None = None) -> AlertingConfig:
        """Validate and store a new config document (missing keys take the defaults)."""
        with self._lock:
            new = parse_config(raw, current=self._config, policy=self._policy)
            with self._cursor() as cur:
                self._save(cur, new, now or _now(), by)
            self._config = new
        for listener in self._listeners:
            listener(new)
        return new

    # -- checks ---------------------------------------------------------------------------
    def check(self, now: datetime | None = None) -> CheckReport:
        """Evaluate every enabled rule for every scope at `now`, and apply the verdicts."""
        now = now or _now()
        config = self._config
        report = CheckReport(now)
        with self._lock, self._cursor() as cur:
            if config.enabled:
                self._check(cur, config, report, now)
            self.customers_beyond_cap = report.customers_beyond_cap
            report.open_alerts = alert_store.open_alerts(cur)
        self._send(report.outcome.notifications)
        for listener in self._check_listeners:
            listener(report)
        return report

    def _check(
        self, cur: duckdb.DuckDBPyConnection, config: AlertingConfig, report: CheckReport, now: datetime
    ) -> None:
        open_by_key = {(a.rule_id, a.customer_id): a for a in alert_store.open_alerts(cur)}
        per_customer = config.per_customer or any(cid is not None for _, cid in open_by_key)
        window = TimeRange(now - timedelta(milliseconds=config.window_ms), now + self._future_skew)
        rules = config.rules()
        wants_baseline = any(rule.kind == "degradation" for rule in rules)
        rolling: dict[str, Readings] = {}
        with self._store.snapshot() as reading:  # the hot rows and the lake of one moment
            current = measure(reading, [window], per_customer=per_customer)
            if wants_baseline and config.baseline != "captured":
                rolling = self._rolling_readings(reading, now, per_customer)
        captured = alert_store.latest_baselines(cur) if wants_baseline else {}
        previous = alert_store.last_resolved_ids(cur)
        held = {cid for _, cid in open_by_key if cid is not None}
        scopes, report.customers_beyond_cap = capped_scopes(
            current if config.per_customer else {GLOBAL: empty_readings()}, held, config.max_customer_scopes
        )
        window_text = f"last {config.window_ms / 60_000:g} min"
        writes = alert_store.AlertWrites()
        with transaction(cur):
            for scope in sorted(scopes):
                customer_id = None if scope == GLOBAL else scope
                report.scopes.append(customer_id)
                readings = current.get(scope) or empty_readings()
                for rule in rules:
                    alert = open_by_key.get((rule.id, customer_id))
                    base = None
                    if rule.kind == "degradation":
                        base = alert.baseline if alert is not None and alert.baseline else None
                        base = base or reference(
                            rule.metric,
                            source=config.baseline,
                            captured=captured.get(customer_id),
                            rolling=rolling.get(scope),
                            min_samples=config.min_samples,
                        )
                    verdict = lifecycle.judge(
                        rule,
                        config.levels_of(rule),
                        readings[rule.metric],
                        min_samples=config.min_samples,
                        window=window_text,
                        baseline=base,
                    )
                    lifecycle.apply_verdict(
                        writes,
                        report.outcome,
                        rule=rule,
                        customer_id=customer_id,
                        verdict=verdict,
                        current=alert,
                        previous_id=previous.get((rule.id, customer_id)),
                        auto_resolve_after=config.auto_resolve_after_checks,
                        now=now,
                    )
            enabled = {rule.id for rule in rules}
            for (rule_id, _), alert in open_by_key.items():
                if rule_id not in enabled:  # nothing will judge it again: close it with the reason
                    lifecycle.resolve(writes, alert, AUTO, now, note="rule disabled", outcome=report.outcome)
            alert_store.flush(cur, writes)
            alert_store.prune_resolved(cur, config.history_limit)

    # -- actions on one alert ---------------------------------------------------------------
    def resolve(
        self, alert_id: str, *, by: str, note: str | None = None, now: datetime | None = None
    ) -> Alert:
        """Resolve an open alert by hand (`resolvedBy` = `by`)."""
        notices: list[Notification] = []
        with self._lock, self._cursor() as cur:
            alert = self._get(cur, alert_id)
            writes = alert_store.AlertWrites()
            notice = lifecycle.resolve(writes, alert, by, now or _now(), note=note)
            notices += [notice] if notice else []
            self._flush(cur, writes)
        self._send(notices)
        return alert

    def acknowledge(self, alert_id: str, *, by: str, now: datetime | None = None) -> Alert:
        """Acknowledge an open alert: it stays open, its notifications are muted."""
        with self._lock, self._cursor() as cur:
            alert = self._get(cur, alert_id)
            writes = alert_store.AlertWrites()
            lifecycle.acknowledge(writes, alert, by, now or _now())
            self._flush(cur, writes)
        return alert

    def snooze(self, alert_id: str, *, by: str, until: datetime, now: datetime | None = None) -> Alert:
        """Mute an open alert until `until` (in the future, at most `MAX_SNOOZE` ahead)."""
        now = now or _now()
        with self._lock, self._cursor() as cur:
            alert = self._get(cur, alert_id)  # an unknown id is a 404 whatever the time
            if until <= now:
                raise BadRequest(f"snooze until {iso(until)} is not in the future (now is {iso(now)})")
            if until > now + MAX_SNOOZE:
                raise BadRequest(
                    f"snooze until {iso(until)} is more than {MAX_SNOOZE.days} days ahead: "
                    "resolve the alert or disable its rule instead"
                )
            writes = alert_store.AlertWrites()
            lifecycle.snooze(writes, alert, by, until, now)
            self._flush(cur, writes)
        return alert

    # -- reading --------------------------------------------------------------------------
    def erase_customer(self, customer_id: str) -> tuple[int, int]:
        """Forget the customer's alerts and baselines (its data is being erased); how many of each."""
        with self._lock, self._cursor() as cur, transaction(cur):
            erased = alert_store.erase_customer(cur, customer_id)
        self._rolling = None  # readings that held its figures
        return erased

    def alert(self, alert_id: str) -> Alert:
        with self._cursor() as cur:
            return self._get(cur, alert_id)

    def alerts(self, **filters: Any) -> list[Alert]:
        """Stored alerts, newest first; see `alert_store.find_alerts` for the filters."""
        with self._cursor() as cur:
            return alert_store.find_alerts(cur, **filters)

    def history(self, alert_id: str) -> list[Transition]:
        """Every transition of one alert, oldest first."""
        with self._cursor() as cur:
            self._get(cur, alert_id)
            return alert_store.history(cur, alert_id)

    def section(self, customer_id: str | None) -> dict[str, Any]:
        """The summary's `alerts` section (the seed's shape): open alerts and statistics over the history."""
        with self._cursor() as cur:
            active = alert_store.find_alerts(cur, resolved=False, customer_id=customer_id)
            stats = alert_store.alert_stats(cur, customer_id)
        return {"active": [a.to_wire() for a in active], "stats": stats}

    # -- baselines ------------------------------------------------------------------------
    def capture_baseline(
        self,
        *,
        customer_id: str | None = None,
        by: str = "api",
        label: str | None = None,
        window: timedelta | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Snapshot the key figures of the last `window` (default: the check window) and store them."""
        now = now or _now()
        window = window or timedelta(milliseconds=self._config.window_ms)
        if not timedelta(seconds=1) <= window <= MAX_BASELINE_WINDOW:
            raise BadRequest("a baseline window must be from 1 s to 7 days")
        with self._lock, self._cursor() as cur:
            baseline = capture_baseline(
                cur, now=now, window=window, customer_id=customer_id, by=by, label=label
            )
            alert_store.save_baseline(cur, baseline)
        return baseline_to_wire(baseline)

    def baseline_report(
        self, *, customer_id: str | None = None, now: datetime | None = None
    ) -> dict[str, Any]:
        """The latest captured baseline, the rolling one, the current figures and the degradation of each."""
        now = now or _now()
        config = self._config
        scope = customer_id or GLOBAL
        per_customer = customer_id is not None
        with self._cursor() as cur:
            captured = alert_store.latest_baselines(cur).get(customer_id)
            window = TimeRange(now - timedelta(milliseconds=config.window_ms), now + self._future_skew)
            current = measure(cur, [window], per_customer=per_customer).get(scope) or empty_readings()
            rolling = (
                measure(cur, rolling_ranges(now), per_customer=per_customer).get(scope) or empty_readings()
            )
        figures: dict[str, Any] = {}
        for metric, (label, higher_is_worse) in baselined_figures().items():
            ref = reference(
                metric,
                source=config.baseline,
                captured=captured,
                rolling=rolling,
                min_samples=config.min_samples,
            )
            value = current[metric].value
            figures[metric] = {
                "label": label,
                "higherIsWorse": higher_is_worse,
                "current": value,
                "samples": current[metric].samples,
                "baseline": ref,
                "degradationPercent": (
                    None if ref is None or value is None else degradation(metric, value, float(ref["value"]))
                ),
            }
        return {
            "timestamp": iso(now),
            "customerId": customer_id,
            "source": config.baseline,
            "captured": None if captured is None else baseline_to_wire(captured),
            "rolling": {
                "ranges": [{"start": iso(r.start), "end": iso(r.end)} for r in rolling_ranges(now)],
                "figures": baseline_figures(rolling),
            },
            "figures": figures,
        }

    # -- internals ------------------------------------------------------------------------
    def _rolling_readings(
        self, cur: duckdb.DuckDBPyConnection, now: datetime, per_customer: bool
    ) -> dict[str, Readings]:
        cached = self._rolling
        if (
            cached is not None
            and cached[1] == per_customer
            and timedelta(0) <= now - cached[0] < ROLLING_REUSE
        ):
            return cached[2]
        readings = measure(cur, rolling_ranges(now), per_customer=per_customer)
        self._rolling = (now, per_customer, readings)
        return readings

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._store.cursor() as cur:
            yield cur

    @staticmethod
    def _flush(cur: duckdb.DuckDBPyConnection, writes: alert_store.AlertWrites) -> None:
        with transaction(cur):
            alert_store.flush(cur, writes)

    @staticmethod
    def _get(cur: duckdb.DuckDBPyConnection, alert_id: str) -> Alert:
        alert = alert_store.get_alert(cur, alert_id)
        if alert is None:
            raise NotFound(f"no alert with id {alert_id!r}")
        return alert

    def _save(self, cur: duckdb.DuckDBPyConnection, config: AlertingConfig, at: datetime, by: str) -> None:
        """Secrets to their own file first, then the config, masked, to the event store."""
        try:
            save_secrets(self._secrets_file, secrets_of(config))
        except OSError as exc:
            raise StoreUnavailable(f"cannot write the channel secrets file: {exc.strerror}") from exc
        alert_store.save_config_body(cur, config.to_dict(), at, by)

    def _stored_config(self, cur: duckdb.DuckDBPyConnection) -> AlertingConfig:
        body = alert_store.load_config_body(cur)
        if body is None:
            return AlertingConfig()
        doc, plain = restore_secrets(body, load_secrets(self._secrets_file))
        try:
            config = read_config(doc)
        except InvalidConfig as exc:  # e.g. a rule renamed by an upgrade: say so, keep running
            reason = one_line(exc.message)
            log.error("stored alerting config is no longer valid (%s); using the defaults", reason)
            return AlertingConfig()
        if plain:  # written by a version that kept the secrets in the event store
            self._save(cur, config, _now(), "secrets moved out of the event store")
            log.warning("moved the channel secrets out of the event store into %s", self._secrets_file)
        return config

    def _send(self, notifications: Sequence[Notification]) -> None:
        if notifications and self._notify is not None:
            self._notify(list(notifications))


def _now() -> datetime:
    return datetime.now(UTC)
