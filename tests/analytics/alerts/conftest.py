"""A real store in a temp dir, events written at chosen times, and an alerting system over it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analytics.alerts.alert import Notification
from analytics.alerts.config import parse_config
from analytics.alerts.system import AlertingSystem
from analytics.ingest.intake import read_body
from analytics.storage.store import EventStore, IngestBatch

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MIB = 1_048_576

Event = tuple[str, dict[str, Any]]


def ev(kind: str, **metric: Any) -> Event:
    return (kind, metric)


def put(store: EventStore, events: Sequence[Event], at: datetime = NOW - timedelta(minutes=1)) -> None:
    """Store `events` stamped `at`, through the same intake as the API."""
    body = [{"type": kind, "metric": {**metric, "timestamp": at.isoformat()}} for kind, metric in events]
    received_us = int(at.timestamp() * 1_000_000)
    intake = read_body(json.dumps(body).encode(), received_us=received_us, max_events=100_000)
    assert not intake.rejected, intake.rejected
    store.append([IngestBatch.of_events(intake.accepted, received_us)])


class Sink(list[Notification]):
    """Collects what the system hands to its channels."""

    def __call__(self, notifications: Sequence[Notification]) -> None:
        self.extend(notifications)

    def kinds(self) -> list[tuple[str, str]]:
        return [(n.kind, n.alert["ruleId"]) for n in self]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    opened = EventStore.open(tmp_path / "data")
    yield opened
    opened.close()


@pytest.fixture
def sink() -> Sink:
    return Sink()


def make_system(store: EventStore, sink: Sink | None = None, **config: Any) -> AlertingSystem:
    return AlertingSystem(store, config=parse_config(config), notify=sink)


@pytest.fixture
def system(store: EventStore, sink: Sink) -> AlertingSystem:
    return make_system(store, sink)
