"""The rollup watermark's promise: nothing still being stored is at or before `settled_before()`."""

from __future__ import annotations

import time
from datetime import timedelta

from ingest_api.in_flight import EPOCH, InFlight


def moment(us: int):  # type: ignore[no-untyped-def]
    return EPOCH + timedelta(microseconds=us)


def test_settled_before_stops_short_of_the_oldest_request_in_flight() -> None:
    flight = InFlight()
    first = flight.enter()
    second = flight.enter()
    assert first <= second
    assert flight.settled_before() == moment(first - 1)  # its events have received_at == first
    flight.leave(first)
    assert flight.settled_before() == moment(second - 1)
    flight.leave(second)
    idle = flight.settled_before()
    later = flight.enter()  # stamped after the idle answer: never at or before it
    assert moment(later) > idle
    assert abs((idle - moment(time.time_ns() // 1000)).total_seconds()) < 5


def test_two_requests_in_the_same_microsecond_are_both_held() -> None:
    flight = InFlight()
    stamp = flight.enter()
    flight._received[stamp] += 1  # a second request stamped the same microsecond
    flight.leave(stamp)
    assert flight.settled_before() == moment(stamp - 1)
    flight.leave(stamp)
    assert flight.settled_before() > moment(stamp - 1)
