"""What `GET /metrics` serves: every family declared once, with how its samples are read from the runtime.

A new family is one more `Exposed` in `EXPOSED`; `exposition` renders them all. The
samples are read on the event loop, where every counter here is changed, so one scrape
sees them all at one moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from analytics.access.key_usage import RATE_LIMITS, REJECTION_REASONS, KeyUsage
from analytics.queries.metrics_exposition import Family, Kind, Sample, render
from ingest_api.runtime import Runtime

PREFIX = "widget_monitor_"
KEY_LABELS = ("key_id", "customer_id")

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
        _family("ingest_backlog_bytes", "gauge", "Bytes of ingest bodies admitted and not yet answered."),
        _server(lambda r: r.backlog.bytes),
    ),
    Exposed(
        _family("ingest_backlog_limit_bytes", "gauge", "Backlog over which ingest requests get 503."),
        _server(lambda r: r.backlog.max_bytes),
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


def exposition(runtime: Runtime) -> str:
    """Every family of `EXPOSED` in the Prometheus text format."""
    return render((exposed.family, exposed.read(runtime)) for exposed in EXPOSED)
