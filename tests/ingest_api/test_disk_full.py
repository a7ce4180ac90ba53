"""A full disk: ingest answers 503 and stores nothing, reads keep answering, and ingest
recovers once space returns, without a restart; every acknowledged event survives.

The server's data dir is a tmpfs of its own; a filler file takes all but a little of it
while widgets keep posting batches, so the disk runs out in the middle of the traffic (a
commit that half fits, then none at all), not between two quiet requests. The room left
is far below DuckDB's checkpoint threshold, so the WAL never reaches it; running out of
space in a checkpoint is the second test's case.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from analytics.storage.store import CHECKPOINT_BYTES, DB_FILENAME
from tests.support.events import FULL_METRICS, event
from tests.support.server import ServerProcess
from tests.support.tmpfs import fill_leaving, mounted_tmpfs

pytestmark = pytest.mark.slow  # `make test-slow` (CI runs it after `make test`)

INGEST = "/api/monitoring/widget"
READS = (INGEST, f"{INGEST}/dimensions", "/healthz")
BATCH_EVENTS = 100
WIDGETS = 3
# A few batches' worth of WAL: the first commits after the fill still fit, one half fits.
LEFT_FREE = 256 * 1024
FULL_503S = 4  # refusals in a row, per widget, that say the disk is full (not a hiccup)
PHASE_TIMEOUT_S = 10.0
_KINDS = itertools.cycle(FULL_METRICS)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """The server's data dir: a 64 MB tmpfs (the server log stays outside it)."""
    with mounted_tmpfs(tmp_path / "data", size="64m") as disk:
        yield disk


@dataclass
class Ledger:
    """What each batch got back, by its eventIds, shared by the posting threads."""

    acknowledged: list[str] = field(default_factory=list)
    refused: list[list[str]] = field(default_factory=list)  # one list per 503'd batch
    problems: list[str] = field(default_factory=list)  # any answer that is neither
    refusals_in_a_row: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, widget: int, ids: list[str], answer: httpx.Response) -> None:
        with self.lock:
            if answer.status_code == 200:
                body = answer.json()
                if body["stored"] != len(ids) or body["duplicates"] or body["rejected"]:
                    self.problems.append(f"200 that did not store the whole batch: {body}")
                self.acknowledged.extend(ids)
                self.refusals_in_a_row[widget] = 0
            elif answer.status_code == 503:
                problem = _not_a_proper_refusal(answer)
                if problem:
                    self.problems.append(problem)
                self.refused.append(ids)
                self.refusals_in_a_row[widget] = self.refusals_in_a_row.get(widget, 0) + 1
            else:
                self.problems.append(f"{answer.status_code} {answer.text[:300]}")


def _not_a_proper_refusal(answer: httpx.Response) -> str | None:
    """Why this 503 does not tell a widget what happened and when to come back, if it does not."""
    body = answer.json()
    retry_after = answer.headers.get("Retry-After")
    if body.get("error") not in ("store_unavailable", "overloaded"):
        return f"503 with an unknown error code: {body}"
    if retry_after is None:
        return f"503 without Retry-After: {body}"
    if ".wal" in body["message"] or "/" in body["message"]:  # regression: it named the server's WAL path
        return f"503 shows the server's internals: {body}"
    if retry_after is not None and not (retry_after.isdigit() and int(retry_after) >= 1):
        return f"Retry-After {retry_after!r} is not a number of seconds"
    return None


def _batch(widget: int, seq: int, *, events: int = BATCH_EVENTS) -> tuple[list[str], list[dict[str, object]]]:
    ids = [f"w{widget}-b{seq}-e{k}" for k in range(events)]
    return ids, [event(next(_KINDS), eventId=event_id) for event_id in ids]


class Widgets:
    """`WIDGETS` threads posting batches of fresh eventIds until stopped."""

    def __init__(self, url: str, ledger: Ledger, *, first_seq: int) -> None:
        self.stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._post, args=(url, ledger, w, first_seq), daemon=True)
            for w in range(WIDGETS)
        ]

    def _post(self, url: str, ledger: Ledger, widget: int, seq: int) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not self.stop.is_set():
                ids, body = _batch(widget, seq)
                seq += 1
                try:
                    answer = client.post(INGEST, json=body)
                except httpx.TransportError as exc:
                    with ledger.lock:
                        ledger.problems.append(f"no answer (the server died?): {exc!r}")
                    return
                ledger.record(widget, ids, answer)

    def __enter__(self) -> Widgets:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        assert not any(t.is_alive() for t in self._threads), "a widget's post did not return"


def _read_all(client: httpx.Client) -> dict[str, int | str]:
    """Each read endpoint's status (or how its connection failed), not served from a cache."""
    statuses: dict[str, int | str] = {}
    for path in READS:
        params = {"window": 3_600_000} if path == INGEST else None
        try:
            answer = client.get(path, params=params, headers={"Cache-Control": "no-cache"})
        except httpx.TransportError as exc:
            statuses[path] = f"no answer: {exc!r}"
        else:
            statuses[path] = answer.status_code
    return statuses


def _stored(client: httpx.Client) -> int:
    answer = client.get(f"{INGEST}/dimensions")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["events"])


def _wait_for(
    condition: Callable[[], bool], what: str, ledger: Ledger, client: httpx.Client
) -> list[dict[str, int | str]]:
    """Read every endpoint while waiting for `condition()`; the reads' statuses."""
    reads = []
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {PHASE_TIMEOUT_S} s"
        assert not ledger.problems, ledger.problems
        reads.append(_read_all(client))
    return reads


def _resend(client: httpx.Client, ids: list[str]) -> tuple[int, int]:
    """Post these eventIds again (as new batches); how many were stored and how many duplicates."""
    stored = duplicates = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        answer = client.post(INGEST, json=[event(next(_KINDS), eventId=i) for i in chunk])
        assert answer.status_code == 200, answer.text
        stored += answer.json()["stored"]
        duplicates += answer.json()["duplicates"]
    return stored, duplicates


def test_a_full_disk_refuses_ingest_with_503_keeps_reads_and_recovers(small_disk: Path) -> None:
    ledger = Ledger()
    filler = small_disk / "filler"
    server = ServerProcess(small_disk)
    with server, httpx.Client(base_url=server.url, timeout=10) as client:
        with Widgets(server.url, ledger, first_seq=0):
            _wait_for(lambda: len(ledger.acknowledged) >= 5 * BATCH_EVENTS, "the first 200s", ledger, client)
            fill_leaving(filler, LEFT_FREE)
            reads_while_filling = _wait_for(
                lambda: all(ledger.refusals_in_a_row.get(w, 0) >= FULL_503S for w in range(WIDGETS)),
                f"{FULL_503S} refusals in a row from every widget",
                ledger,
                client,
            )
        assert not ledger.problems, ledger.problems
        assert all(s == 200 for r in reads_while_filling for s in r.values()), reads_while_filling

        # Full and quiet: reads answer, and count exactly what was acknowledged.
        assert _read_all(client) == dict.fromkeys(READS, 200)
        assert _stored(client) == len(ledger.acknowledged)
        ids, body = _batch(WIDGETS, 0)
        refused = client.post(INGEST, json=body)
        ledger.record(WIDGETS, ids, refused)
        assert refused.status_code == 503 and not ledger.problems, (refused.text, ledger.problems)

        # Space returns: the very next batch is stored, by the same process.
        filler.unlink()
        ids, body = _batch(WIDGETS, 1)
        recovered = client.post(INGEST, json=body)
        ledger.record(WIDGETS, ids, recovered)
        assert recovered.status_code == 200, recovered.text
        acknowledged_before = len(ledger.acknowledged)
        refused_before = len(ledger.refused)
        with Widgets(server.url, ledger, first_seq=1_000_000):
            _wait_for(
                lambda: len(ledger.acknowledged) >= acknowledged_before + 5 * BATCH_EVENTS,
                "200s after the disk had room again",
                ledger,
                client,
            )
        assert not ledger.problems, ledger.problems
        assert len(ledger.refused) == refused_before, "a 503 with room on the disk again"
        assert _stored(client) == len(ledger.acknowledged)

        # A refused batch stored nothing: sent again, all of it is stored (no "duplicate").
        refused_ids = [i for batch in ledger.refused for i in batch]
        assert _resend(client, refused_ids) == (len(refused_ids), 0)
        ledger.acknowledged.extend(refused_ids)
        assert _stored(client) == len(ledger.acknowledged)

    # A clean restart on the same data dir: every acknowledged event is still there.
    with ServerProcess(small_disk) as restarted, httpx.Client(base_url=restarted.url, timeout=10) as client:
        assert _stored(client) == len(ledger.acknowledged)
        assert _resend(client, ledger.acknowledged) == (0, len(ledger.acknowledged))
        assert _stored(client) == len(ledger.acknowledged)


@pytest.fixture
def roomy_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs with room for a WAL at DuckDB's checkpoint threshold, and a little more."""
    with mounted_tmpfs(tmp_path / "data", size=f"{CHECKPOINT_BYTES // 2**20 + 36}m") as disk:
        yield disk


def test_disk_full_during_a_checkpoint_keeps_reads_and_recovers(roomy_disk: Path) -> None:
    """The commit that takes the WAL past the threshold also checkpoints it into the
    database file, which needs space of its own: here, more than is left.

    Regression: DuckDB then invalidated the database, and until a restart every ingest and
    every read failed; the store now reopens the file (replaying its WAL) at the next commit.
    """
    wal = roomy_disk / f"{DB_FILENAME}.wal"
    ledger = Ledger()
    server = ServerProcess(roomy_disk)
    with server, httpx.Client(base_url=server.url, timeout=30) as client:
        seq = itertools.count()

        def post() -> httpx.Response:
            ids, body = _batch(0, next(seq), events=1000)
            answer = client.post(INGEST, json=body)
            ledger.record(0, ids, answer)
            return answer

        while wal.stat().st_size < CHECKPOINT_BYTES - 2 * 2**20:
            assert post().status_code == 200 and not ledger.problems, ledger.problems
        fill_leaving(roomy_disk / "filler", 3 * 2**20)
        deadline = time.monotonic() + PHASE_TIMEOUT_S
        while post().status_code != 503:  # the WAL takes 1-2 more commits, then the checkpoint fails
            assert time.monotonic() < deadline and not ledger.problems, ledger.problems
        assert not ledger.problems, ledger.problems
        assert _read_all(client) == dict.fromkeys(READS, 200)
        assert _stored(client) == len(ledger.acknowledged)

        (roomy_disk / "filler").unlink()
        assert post().status_code == 200, ledger.problems or ledger.refused[-1:]
        assert _stored(client) == len(ledger.acknowledged)

    with ServerProcess(roomy_disk) as restarted, httpx.Client(base_url=restarted.url, timeout=30) as client:
        assert _stored(client) == len(ledger.acknowledged)
