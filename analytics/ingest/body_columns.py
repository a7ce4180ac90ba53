"""A POSTed body read into columns, in a form that crosses a process boundary.

Reading a batch (msgspec validation, then one column per field) is pure Python work
of a few µs per event, and in the server it holds the GIL that the event loop and
the writer thread also need. `decode_body` runs in a decoder process instead: the
request sends the raw body there and gets back the accepted events as columns already
in Arrow's memory layout (`EventColumns`: a few byte strings to unpickle, no per-event
work on the way back), their eventIds for the dedupe, and the rejections and clamp
count for the answer. Nothing here loads pyarrow: the decoder process stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from analytics.ingest.event_columns import EventColumns, request_columns
from analytics.ingest.intake import Rejection, read_body

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """What the request needs of a body read elsewhere."""

    columns: EventColumns  # the accepted events, in the `events` table's layout
    event_ids: list[str | None]  # in row order
    rejected: list[Rejection]
    clamped: int
    sent_index: list[int] | None = None  # each row's place in the body, when an eventId repeats

    def table(self) -> pa.Table:
        """The columns as an Arrow table (in the server: this loads pyarrow)."""
        from analytics.ingest.columnar import to_arrow

        return to_arrow(self.columns)


def decode_body(
    body: bytes,
    *,
    received_us: int,
    max_events: int,
    max_future_skew_us: int,
    customer_id: str | None = None,
    max_age_us: int | None = None,
    kept_from_us: int | None = None,
) -> DecodedBody:
    """`read_body`, then the accepted events as columns; raises what `read_body` raises.

    >>> decoded = decode_body(
    ...     b'[{"type": "render", "metric": {"renderTime": 4.5, "eventId": "e1"}}, {"type": "render"}]',
    ...     received_us=10**15 * 2, max_events=1000, max_future_skew_us=60_000_000,
    ... )
    >>> decoded.event_ids, [r.index for r in decoded.rejected]
    (['e1'], [1])
    >>> decoded.table().column("render_time").to_pylist()
    [4.5]
    """
    intake = read_body(
        body,
        received_us=received_us,
        max_events=max_events,
        max_future_skew_us=max_future_skew_us,
        customer_id=customer_id,
        max_age_us=max_age_us,
        kept_from_us=kept_from_us,
    )
    columns, ids, sent = request_columns(intake.accepted, received_us)
    return DecodedBody(columns, ids, intake.rejected, intake.clamped, sent)


def warm_up() -> int:
    """Decode one event, so that a new decoder process has imported and built everything.

    >>> warm_up()
    1
    """
    body = b'[{"type": "render", "metric": {"renderTime": 1.0}}]'
    decoded = decode_body(body, received_us=10**15 * 2, max_events=1, max_future_skew_us=0)
    return len(decoded.event_ids)
