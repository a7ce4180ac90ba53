"""What `GET /metrics` serves: every family declared once, with how its samples are read from the runtime.

A new server family is one more `Exposed` in `EXPOSED`; the widgets' families (histograms
and counters per customer and version, health scores) are generated from the figure
registry by `widget_families`. `exposition` renders them all. The server's counters are
read on the event loop, where every one of them is changed, so one scrape sees them all
at one moment; `prepare` (in a thread, first) brings the widgets' families up to date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from analytics.access.key_usage import RATE_LIMITS, REJECTION_REASONS, KeyUsage
from analytics.queries.distributions import counts, histograms
from analytics.queries.figure_sql import GLOBAL
from analytics.queries.health import CATEGORY_WEIGHTS
from analytics.queries.metrics_exposition import Family, Histogram, Kind, Sample, render
from ingest_api.runtime import Runtime

PREFIX = "widget_monitor_"
KEY_LABELS = ("key_id", "customer_id")
SERIES_LABELS = ("customer_id", "widget_version")
HEALTH_CATEGORIES = ("overall", *CATEGORY_WEIGHTS)

Read = Callable[[Runtime], Iterable[Sample]]


@dataclass(frozen=True, slots=True)
class Exposed:
    """A family and how to read its samples."""

    family: Family
    read: Read


def _server(value: Callable[[Runtime], float]) -> Read:
    """One unlabelled sample."""
    return lambda runtime: [((), value(runtime))]


def _per_key(count: Callable[[KeyUsage], int]) -> Read:
    """One sample per key that sent something since the server started."""

    def read(runtime: Runtime) -> Iterable[Sample]:
        return [((key.id, key.customer_id), count(usage)) for key, usage in runtime.access.limits.keys_used()]

    return read


def _per_key_by(values: tuple[str, ...], counts: Callable[[KeyUsage], dict[str, int]]) -> Read:
    """One sample per key and value of the extra label, zeros included (a series exists from the start)."""

    def read(runtime: Runtime) -> Iterable[Sample]:
        return [
            ((key.id, key.customer_id, value), counts(usage)[value])
            for key, usage in runtime.access.limits.keys_used()
            for value in values
        ]

    return read


def _family(name: str, kind: Kind, help: str, labels: tuple[str, ...] = ()) -> Family:
    return Family(PREFIX + name, kind, help, labels)


EXPOSED: tuple[Exposed, ...] = (
    # -- the server's ingest ----------------------------------------------------------------
    Exposed(
        _family("ingest_events_committed_total", "counter", "Events stored, duplicates not counted."),
        _server(lambda r: r.writer.events_committed),
    ),
    Exposed(
        _family("ingest_commits_total", "counter", "Group commits of the event store."),
        _server(lambda r: r.writer.commits),
    ),
    Exposed(
        _family(
            "ingest_overloaded_requests_total",
            "counter",
            "Ingest requests answered 503 because the backlog of bodies waiting to be stored was full.",
        ),
        _server(lambda r: r.backlog.refused),
    ),
    Exposed(
        _family(
            "ingest_events_accepted_total",
            "counter",
            "Events accepted from every sender (valid, within limits; duplicates included).",
        ),
        _server(lambda r: r.ingest_usage.events_accepted),
    ),
    Exposed(
        _family(
            "ingest_events_rejected_total",
            "counter",
            "Events refused by index from every sender, by reason: invalid, too_old or wrong_customer.",
            ("reason",),
        ),
        lambda r: [((reason,), r.ingest_usage.rejected_by[reason]) for reason in REJECTION_REASONS],
    ),
    Exposed(
        _family(
            "ingest_commit_duration_seconds", "histogram", "Group commits of the event store, by duration."
        ),
        lambda r: [((), r.writer.commit_seconds.snapshot())],
    ),
    Exposed(
        _family(
            "ingest_commit_failures_total",
            "counter",
            "Group commits that failed (their requests answered 503, nothing stored).",
        ),
        _server(lambda r: r.writer.failed_commits),
    ),
    Exposed(
        _family("ingest_backlog_bytes", "gauge", "Bytes of ingest bodies admitted and not yet answered."),
        _server(lambda r: r.backlog.bytes),
    ),
    Exposed(
        _family("ingest_backlog_limit_bytes", "gauge", "Backlog over which ingest requests get 503."),
        _server(lambda r: r.backlog.max_bytes),
    ),
    # -- alerting ------------------------------------------------------------------------------
    Exposed(
        _family("alert_checks_total", "counter", "Alert checks run (every rule, every scope)."),
        _server(lambda r: r.alerts.checks if r.alerts else 0),
    ),
    Exposed(
        _family(
            "alert_check_failures_total", "counter", "Alert checks that failed (the server's log says why)."
        ),
        _server(lambda r: r.alerts.failed_checks if r.alerts else 0),
    ),
    Exposed(
        _family("alert_check_duration_seconds", "histogram", "Alert checks, by duration."),
        lambda r: [((), r.alerts.check_seconds.snapshot())] if r.alerts else [],
    ),
    Exposed(
        _family("alerts_open", "gauge", "Alerts open (active or acknowledged) after the last check."),
        _server(lambda r: r.alerts.open_alerts if r.alerts else 0),
    ),
    # -- per ingest key (since the server started; a key shows from its first request) --------
    Exposed(
        _family(
            "ingest_key_requests_total",
            "counter",
            "Ingest requests with this key from an allowed origin, those answered 429 included.",
            KEY_LABELS,
        ),
        _per_key(lambda u: u.requests),
    ),
    Exposed(
        _family(
            "ingest_key_events_accepted_total",
            "counter",
            "Events accepted from this key (valid, within its limits; duplicates included).",
            KEY_LABELS,
        ),
        _per_key(lambda u: u.events_accepted),
    ),
    Exposed(
        _family(
            "ingest_key_events_rejected_total",
            "counter",
            "Events from this key refused by index: invalid, too_old or wrong_customer.",
            (*KEY_LABELS, "reason"),
        ),
        _per_key_by(REJECTION_REASONS, lambda u: u.rejected_by),
    ),
    Exposed(
        _family(
            "ingest_key_throttled_total",
            "counter",
            "Requests with this key answered 429, by the limit spent: requests or events per second.",
            (*KEY_LABELS, "limit"),
        ),
        _per_key_by(RATE_LIMITS, lambda u: u.throttled_by),
    ),
    Exposed(
        _family(
            "ingest_key_origin_refused_total",
            "counter",
            "Requests with this key answered 403 because their Origin is not one the key allows.",
            KEY_LABELS,
        ),
        _per_key(lambda u: u.origin_refused),
    ),
)


def prepare(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Count what was committed since the last flush and score recent health (blocking: in a thread).

    The first scrape starts the counting: the widgets' families hold the events stored since.
    """
    runtime.distributions.start_counting()
    runtime.distributions.flush()
    return runtime.recent_health()


def widget_families(runtime: Runtime, health: dict[str, dict[str, Any]]) -> list[tuple[Family, list[Sample]]]:
    """The widgets' figures since counting started, and `health` (`prepare`'s) of the last 5 minutes."""
    d = runtime.distributions
    out: list[tuple[Family, list[Sample]]] = []
    histogram_samples = d.histogram_samples()
    for h in histograms():
        samples: list[Sample] = [
            (pair, Histogram(h.bounds, tuple(series.cumulative), series.count, series.sum))
            for pair, series in histogram_samples[h.name]
        ]
        out.append((_family(h.name, "histogram", h.help, SERIES_LABELS), samples))
    count_samples = d.count_samples()
    events: list[Sample] = list(count_samples["events_total"])
    out.append(
        (
            _family("events_total", "counter", "Events stored, by type.", ("type", *SERIES_LABELS)),
            events,
        )
    )
    for c in counts():
        out.append((_family(c.name, "counter", c.help, SERIES_LABELS), list(count_samples[c.name])))
    out.append(
        (
            _family(
                "series_folded_events_total",
                "counter",
                'Events counted under customer_id="(other)": their (customer, version) pair came after '
                "WIDGET_MONITOR_METRICS_MAX_SERIES others.",
            ),
            [((), d.folded_events)],
        )
    )
    scored = health.get(GLOBAL, {})
    out.append(
        (
            _family(
                "health_score",
                "gauge",
                "Health 0-100 of the last 5 minutes, overall and by category (the summary's health).",
                ("category",),
            ),
            [((c,), v) for c, v in _scores(scored)],
        )
    )
    customers = sorted(c for c in health if c != GLOBAL)[: d.max_series]
    out.append(
        (
            _family(
                "customer_health_score",
                "gauge",
                "Health 0-100 of one customer's last 5 minutes, overall and by category.",
                ("customer_id", "category"),
            ),
            [((customer, c), v) for customer in customers for c, v in _scores(health[customer])],
        )
    )
    return out


def _scores(health: dict[str, Any]) -> list[tuple[str, float]]:
    """(category, score) of a health section, `overall` first; a category without data left out."""
    values = {"overall": health.get("overall"), **health.get("scores", {})}
    return [(c, values[c]) for c in HEALTH_CATEGORIES if values.get(c) is not None]


def exposition(runtime: Runtime, health: dict[str, dict[str, Any]]) -> str:
    """Every family of `EXPOSED`, then the widgets' (with `health` from `prepare`), as text.

    Nothing here queries the store: it runs on the event loop.
    """
    server = [(exposed.family, list(exposed.read(runtime))) for exposed in EXPOSED]
    return render([*server, *widget_families(runtime, health)])
