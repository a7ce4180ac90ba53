"""Which events answer a query over a range: raw events (exact), or the hourly rollups."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

EXACT_SPAN = timedelta(hours=24)  # ranges up to this long are read from raw events
Source = Literal["raw", "rollup"]


def source_for(
    start: datetime, end: datetime, *, exact: bool = False, raw_from: datetime | None = None
) -> Source:
    """Raw events for a range of up to `EXACT_SPAN`, or any range when `exact`; the rollups for
    longer ones, and for any range reaching back before `raw_from` (raw events dropped by
    retention: None, all kept).

    >>> from datetime import UTC
    >>> t = datetime(2026, 12, 1, tzinfo=UTC)
    >>> day = EXACT_SPAN
    >>> source_for(t, t + day), source_for(t, t + 2 * day), source_for(t, t + 2 * day, exact=True)
    ('raw', 'rollup', 'raw')
    >>> source_for(t, t + EXACT_SPAN, exact=True, raw_from=t + timedelta(hours=1))
    'rollup'
    """
    if raw_from is not None and start < raw_from:
        return "rollup"
    if exact or end - start <= EXACT_SPAN:
        return "raw"
    return "rollup"
