"""What the sidebar chooses for every page: the time window and the customer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

WINDOWS: dict[str, timedelta] = {
    "Last 15 minutes": timedelta(minutes=15),
    "Last hour": timedelta(hours=1),
    "Last 6 hours": timedelta(hours=6),
    "Last 24 hours": timedelta(hours=24),
    "Last 3 days": timedelta(days=3),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
}
DEFAULT_WINDOW = "Last 24 hours"
ALL_CUSTOMERS = "All customers"


@dataclass(frozen=True, slots=True)
class Filters:
    """A window [end - span, end) and an optional customer."""

    window_label: str
    span: timedelta
    end: datetime
    customer_id: str | None = None

    @property
    def start(self) -> datetime:
        return self.end - self.span

    @property
    def window_ms(self) -> int:
        return int(self.span.total_seconds() * 1000)

    def previous(self) -> Filters:
        """The window of the same length just before this one.

        >>> f = Filters("Last hour", timedelta(hours=1), datetime(2026, 1, 1, 12, tzinfo=UTC))
        >>> f.previous().end.hour, f.previous().start.hour
        (11, 10)
        """
        return replace(self, end=self.start)

    def describe(self) -> str:
        who = self.customer_id or "all customers"
        return f"{self.window_label.lower()}, {who}"


def filters_for(label: str, customer: str | None, *, now: datetime | None = None) -> Filters:
    """Filters for a sidebar choice; `customer` may be `ALL_CUSTOMERS` or None for everyone."""
    span = WINDOWS.get(label, WINDOWS[DEFAULT_WINDOW])
    chosen = None if customer in (None, "", ALL_CUSTOMERS) else customer
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    return Filters(label if label in WINDOWS else DEFAULT_WINDOW, span, end, chosen)
