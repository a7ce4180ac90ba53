"""A POSTed body read into Arrow columns, in a form that crosses a process boundary.

Reading a batch (msgspec validation, then one column per field) is pure Python work
of a few µs per event, and in the server it holds the GIL that the event loop and
the writer thread also need. `decode_body` runs in a decoder process instead: the
request sends the raw body there and gets back the accepted events as Arrow IPC (a
copy of the buffers, no per-event work on the way back), their eventIds for the
dedupe, and the rejections and clamp count for the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from analytics.ingest.columnar import request_columns
from analytics.ingest.intake import Rejection, read_body


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """What the request needs of a body read elsewhere."""

    ipc: bytes  # the accepted events, an Arrow IPC stream in the `events` table's layout
    event_ids: list[str | None]  # in row order
    rejected: list[Rejection]
    clamped: int
    sent_index: list[int] | None = None  # each row's place in the body, when an eventId repeats

    def table(self) -> pa.Table:
        return pa.ipc.open_stream(self.ipc).read_all()


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
    table, ids, sent = request_columns(intake.accepted, received_us)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return DecodedBody(sink.getvalue().to_pybytes(), ids, intake.rejected, intake.clamped, sent)


def warm_up() -> int:
    """Decode one event, so that a new decoder process has imported and built everything.

    >>> warm_up()
    1
    """
    body = b'[{"type": "render", "metric": {"renderTime": 1.0}}]'
    decoded = decode_body(body, received_us=10**15 * 2, max_events=1, max_future_skew_us=0)
    return len(decoded.event_ids)
