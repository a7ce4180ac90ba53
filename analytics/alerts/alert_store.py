"""Alerts, their transitions, baselines and the alerting config, in tables of the events database.

The tables live beside `events` in the same DuckDB file, so the history survives
restarts and analysts can query it with their own tools. Every method takes the cursor
to use, so that a check can run in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from analytics.alerts.alert import Alert, Transition
from analytics.transaction import count_of

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS alerts (
        id VARCHAR PRIMARY KEY,
        rule_id VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        peak_severity VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        message VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        value DOUBLE NOT NULL,
        threshold DOUBLE NOT NULL,
        unit VARCHAR NOT NULL,
        customer_id VARCHAR,
        status VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ NOT NULL,
        occurrences BIGINT NOT NULL,
        clear_checks INTEGER NOT NULL,
        resolved_at TIMESTAMPTZ,
        resolved_by VARCHAR,
        acknowledged_at TIMESTAMPTZ,
        acknowledged_by VARCHAR,
        snoozed_until TIMESTAMPTZ,
        snoozed_by VARCHAR,
        baseline VARCHAR,
        previous_alert_id VARCHAR
    )""",
    "CREATE SEQUENCE IF NOT EXISTS alert_transition_seq",
    """CREATE TABLE IF NOT EXISTS alert_transitions (
        seq BIGINT DEFAULT nextval('alert_transition_seq'),
        alert_id VARCHAR NOT NULL,
        occurred_at TIMESTAMPTZ NOT NULL,
        action VARCHAR NOT NULL,
        actor VARCHAR NOT NULL,
        from_status VARCHAR,
        to_status VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        value DOUBLE,
        note VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS alert_baselines (
        id VARCHAR PRIMARY KEY,
        customer_id VARCHAR,
        captured_at TIMESTAMPTZ NOT NULL,
        captured_by VARCHAR NOT NULL,
        label VARCHAR,
        window_start TIMESTAMPTZ NOT NULL,
        window_end TIMESTAMPTZ NOT NULL,
        figures VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS alert_config (
        id INTEGER PRIMARY KEY,
        body VARCHAR NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        updated_by VARCHAR NOT NULL
    )""",
)

_ALERT_COLUMNS = (
    "id",
    "rule_id",
    "category",
    "severity",
    "peak_severity",
    "title",
    "message",
    "metric",
    "value",
    "threshold",
    "unit",
    "customer_id",
    "status",
    "created_at",
    "last_seen_at",
    "occurrences",
    "clear_checks",
    "resolved_at",
    "resolved_by",
    "acknowledged_at",
    "acknowledged_by",
    "snoozed_until",
    "snoozed_by",
    "baseline",
    "previous_alert_id",
)
_SELECT_ALERTS = f"SELECT {', '.join(_ALERT_COLUMNS)} FROM alerts"
_TIME = pa.timestamp("us", tz="UTC")


def _arrow_type(column: str) -> pa.DataType:
    if column.endswith(("_at", "_until")):
        return _TIME
    if column in ("value", "threshold"):
        return pa.float64()
    if column in ("occurrences", "clear_checks"):
        return pa.int64()
    return pa.string()


_ALERT_SCHEMA = pa.schema([(c, _arrow_type(c)) for c in _ALERT_COLUMNS])
# column -> Transition attribute
_TRANSITION_FIELDS = {
    "alert_id": "alert_id",
    "occurred_at": "at",
    "action": "action",
    "actor": "by",
    "from_status": "from_status",
    "to_status": "to_status",
    "severity": "severity",
    "value": "value",
    "note": "note",
}
_TRANSITION_SCHEMA = pa.schema(
    [
        (c, _TIME if c == "occurred_at" else pa.float64() if c == "value" else pa.string())
        for c in _TRANSITION_FIELDS
    ]
)


def create_tables(cur: duckdb.DuckDBPyConnection) -> None:
    """Create the alerting tables when they do not exist yet."""
    for statement in _SCHEMA:
        cur.execute(statement)


@dataclass(slots=True)
class AlertWrites:
    """The alert rows and transitions a check or an action changes, written in one go by `flush`."""

    alerts: dict[str, Alert] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)

    def save(self, alert: Alert) -> None:
        self.alerts[alert.id] = alert

    def record(self, transition: Transition) -> None:
        self.transitions.append(transition)


def flush(cur: duckdb.DuckDBPyConnection, writes: AlertWrites) -> None:
    """Insert or replace the changed alerts and append the transitions: two statements in all."""
    if writes.alerts:
        rows = {c: [getattr(a, c) for a in writes.alerts.values()] for c in _ALERT_COLUMNS}
        rows["baseline"] = [json.dumps(b) if b else None for b in rows["baseline"]]
        cur.register("changed_alerts", pa.table(rows, schema=_ALERT_SCHEMA))
        try:
            cur.execute("INSERT OR REPLACE INTO alerts SELECT * FROM changed_alerts")
        finally:
            cur.unregister("changed_alerts")
    if writes.transitions:
        steps = {c: [getattr(t, f) for t in writes.transitions] for c, f in _TRANSITION_FIELDS.items()}
        cur.register("new_transitions", pa.table(steps, schema=_TRANSITION_SCHEMA))
        try:
            names = ", ".join(_TRANSITION_FIELDS)
            cur.execute(f"INSERT INTO alert_transitions ({names}) SELECT {names} FROM new_transitions")
        finally:
            cur.unregister("new_transitions")
    writes.alerts.clear()
    writes.transitions.clear()


def get_alert(cur: duckdb.DuckDBPyConnection, alert_id: str) -> Alert | None:
    rows = _alerts(cur, "WHERE id = ?", [alert_id])
    return rows[0] if rows else None


def open_alerts(cur: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Every alert not resolved yet."""
    return _alerts(cur, "WHERE status <> 'resolved' ORDER BY created_at", [])


def last_resolved_ids(cur: duckdb.DuckDBPyConnection) -> dict[tuple[str, str | None], str]:
    """The most recently resolved alert of each (rule, customer), to link a re-opened one to."""
    rows = cur.execute(
        "SELECT rule_id, customer_id, arg_max(id, resolved_at) FROM alerts "
        "WHERE status = 'resolved' GROUP BY ALL"
    ).fetchall()
    return {(rule_id, customer_id): alert_id for rule_id, customer_id, alert_id in rows}


def find_alerts(
    cur: duckdb.DuckDBPyConnection,
    *,
    resolved: bool | None = None,
    severity: str | None = None,
    category: str | None = None,
    customer_id: str | None = None,
    status: str | None = None,
    limit: int = 1000,
) -> list[Alert]:
    """Alerts matching every filter given, newest first."""
    clauses: list[str] = []
    params: list[Any] = []
    if resolved is not None:
        clauses.append("status = 'resolved'" if resolved else "status <> 'resolved'")
    for column, value in (
        ("severity", severity),
        ("category", category),
        ("customer_id", customer_id),
        ("status", status),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return _alerts(cur, f"{where} ORDER BY created_at DESC, id LIMIT ?", [*params, limit])


def history(cur: duckdb.DuckDBPyConnection, alert_id: str) -> list[Transition]:
    """The transitions of one alert, oldest first."""
    rows = cur.execute(
        "SELECT alert_id, occurred_at, action, actor, from_status, to_status, severity, value, note "
        "FROM alert_transitions WHERE alert_id = ? ORDER BY seq",
        [alert_id],
    ).fetchall()
    return [Transition(*row) for row in rows]


def alert_stats(cur: duckdb.DuckDBPyConnection, customer_id: str | None) -> dict[str, Any]:
    """The summary's stats: total, unresolved, bySeverity and byCategory over the stored alerts
    (one statement: it is asked with every summary)."""
    where, params = ("WHERE customer_id = ?", [customer_id]) if customer_id is not None else ("", [])
    rows = cur.execute(
        "SELECT grouping(severity), grouping(category), severity, category, count(*), "
        f"count(*) FILTER (status <> 'resolved') FROM alerts {where} "
        "GROUP BY GROUPING SETS ((), (severity), (category)) ORDER BY 5 DESC, 3, 4",
        params,
    ).fetchall()
    stats: dict[str, Any] = {"total": 0, "unresolved": 0, "bySeverity": {}, "byCategory": {}}
    for no_severity, no_category, severity, category, n, unresolved in rows:
        if no_severity and no_category:
            stats["total"], stats["unresolved"] = int(n), int(unresolved)
        elif no_category:
            stats["bySeverity"][severity] = int(n)
        else:
            stats["byCategory"][category] = int(n)
    return stats


def prune_resolved(cur: duckdb.DuckDBPyConnection, keep: int) -> int:
    """Forget all but the newest `keep` resolved alerts (and their transitions); return how many."""
    doomed = [
        row[0]
        for row in cur.execute(
            "SELECT id FROM alerts WHERE status = 'resolved' ORDER BY resolved_at DESC, id OFFSET ?", [keep]
        ).fetchall()
    ]
    if doomed:
        cur.execute("DELETE FROM alert_transitions WHERE list_contains(?, alert_id)", [doomed])
        cur.execute("DELETE FROM alerts WHERE list_contains(?, id)", [doomed])
    return len(doomed)


def erase_customer(cur: duckdb.DuckDBPyConnection, customer_id: str) -> tuple[int, int]:
    """Forget the customer's alerts (with their transitions: titles and messages name it, and its
    figures) and its captured baselines; return how many of each went."""
    doomed = [
        row[0] for row in cur.execute("SELECT id FROM alerts WHERE customer_id = ?", [customer_id]).fetchall()
    ]
    if doomed:
        cur.execute("DELETE FROM alert_transitions WHERE list_contains(?, alert_id)", [doomed])
        cur.execute("DELETE FROM alerts WHERE list_contains(?, id)", [doomed])
    baselines = count_of(cur, "DELETE FROM alert_baselines WHERE customer_id = ?", [customer_id])
    return len(doomed), baselines


def save_baseline(cur: duckdb.DuckDBPyConnection, baseline: dict[str, Any]) -> None:
    cur.execute(
        "INSERT INTO alert_baselines VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            baseline["id"],
            baseline["customerId"],
            baseline["capturedAt"],
            baseline["capturedBy"],
            baseline["label"],
            baseline["windowStart"],
            baseline["windowEnd"],
            json.dumps(baseline["figures"]),
        ],
    )


def latest_baselines(cur: duckdb.DuckDBPyConnection) -> dict[str | None, dict[str, Any]]:
    """The most recent captured baseline of each scope (None: global)."""
    rows = cur.execute(
        "SELECT id, customer_id, captured_at, captured_by, label, window_start, window_end, figures "
        "FROM alert_baselines "
        "QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY captured_at DESC) = 1"
    ).fetchall()
    out: dict[str | None, dict[str, Any]] = {}
    for bid, customer_id, captured_at, by, label, start, end, figures in rows:
        out[customer_id] = {
            "id": bid,
            "customerId": customer_id,
            "capturedAt": captured_at,
            "capturedBy": by,
            "label": label,
            "windowStart": start,
            "windowEnd": end,
            "figures": json.loads(figures),
        }
    return out


def load_config_body(cur: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    row = cur.execute("SELECT body FROM alert_config WHERE id = 1").fetchone()
    return None if row is None else dict(json.loads(row[0]))


def save_config_body(cur: duckdb.DuckDBPyConnection, body: dict[str, Any], at: datetime, by: str) -> None:
    cur.execute("INSERT OR REPLACE INTO alert_config VALUES (1, ?, ?, ?)", [json.dumps(body), at, by])


def _alerts(cur: duckdb.DuckDBPyConnection, tail: str, params: Sequence[Any]) -> list[Alert]:
    rows = cur.execute(f"{_SELECT_ALERTS} {tail}", list(params)).fetchall()
    alerts = []
    for row in rows:
        fields = dict(zip(_ALERT_COLUMNS, row, strict=True))
        fields["baseline"] = json.loads(fields["baseline"]) if fields["baseline"] else None
        alerts.append(Alert(**fields))
    return alerts
