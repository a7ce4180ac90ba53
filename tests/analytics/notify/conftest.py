"""The alert tests' store fixture, reused."""

from tests.analytics.alerts.conftest import store

__all__ = ["store"]
