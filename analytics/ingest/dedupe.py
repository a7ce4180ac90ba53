"""The client idempotency keys (`eventId`) stored recently, so that a retried event is stored once.

Browsers retry within seconds or minutes; remembering a day of keys (reloaded from the
store at start-up) catches every realistic retry without a unique index, which would
cost DuckDB several times its insert speed.

Memory stays small whatever the load:

- the newest keys (up to `FRESH_MAX_IDS`, where retries land) are held exactly, as strings;
- older ones as 8-byte hashes in sorted numpy arrays, each beside its 4-byte time, with a
  directory into them: about 16 bytes per key (17 with the exact newest), against ~126 for
  a set of the strings (bench/dedupe_bench.py). Arrays are merged as they grow (sizes at
  least double from newest to oldest) up to `MAX_ARRAY_IDS` keys each: a lookup searches
  about a dozen at most, and a merge's scratch memory is bounded by that size instead of
  growing with every key held.

A hash can collide, so a key that matches only by hash is a *candidate*: the caller
confirms candidates exactly against the stored events (`stored_among`'s `confirm`).
A retry is never missed (no false negative), and a new event is never taken for one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import numpy as np

# Keys held exactly before they are hashed into an array.
FRESH_MAX_IDS = 65_536

# Arrays are not merged past this many keys. Over 3M keys, merging them all held 67 MB of
# scratch at once (peak 119 MB for 52 held), and took a server on the 101M-event bench store
# from 241 to 331 MB mid-load; at 2**20, 17 MB of scratch, and a lookup of 1000 new ids in 7
# arrays takes 720 µs against 450 in 4 (2**19: 12 MB, 1180 µs; docs/history.md#memory).
MAX_ARRAY_IDS = 1 << 20

# An array is filtered of expired keys once its oldest key is this much past the
# horizon (keys are kept a little longer than the horizon, never shorter).
_EXPIRY_SLACK_S = 60

# Over `max_ids`, the oldest keys are forgotten down to this share of it.
_TRIM_TO = 0.9

# Hashes per bucket of an array's directory, on average (4 bytes per bucket: 2 bytes per key).
_PER_BUCKET = 2

_SIGN = np.uint64(1 << 63)

# (candidate ids, the earliest and latest second their hashes were stored) -> those stored
Confirm = Callable[[list[str], int, int], Iterable[str]]


@dataclass(slots=True)
class _Hashed:
    """Hashes sorted ascending, the time (epoch s) each key was stored, and a directory.

    The directory finds a hash's place in one step rather than a binary search's twenty
    cache misses (3x faster over a few million keys): hashes are uniform, so their top
    `bits` bits split them into buckets of about `_PER_BUCKET`, and `directory[b]` is
    where bucket b starts (4 bytes per bucket).
    """

    hashes: np.ndarray  # int64
    stored_s: np.ndarray  # uint32
    oldest_s: int
    directory: np.ndarray  # int32 starts, one per bucket and one past the end
    shift: np.uint64

    @classmethod
    def of(cls, hashes: np.ndarray, stored_s: np.ndarray, oldest_s: int | None = None) -> _Hashed:
        bits = max(1, int(np.ceil(np.log2(max(len(hashes) / _PER_BUCKET, 2)))))
        shift = np.uint64(64 - bits)
        counts = np.bincount(_buckets(hashes, shift), minlength=1 << bits)
        directory = np.zeros(len(counts) + 1, dtype=np.int32)
        np.cumsum(counts, out=directory[1:])
        if oldest_s is None:
            oldest_s = int(stored_s.min()) if len(stored_s) else 0
        return cls(hashes, stored_s, oldest_s, directory, shift)

    def matches(self, probes: np.ndarray) -> tuple[np.ndarray, int, int]:
        """Which probes (int64) are among the hashes, and the earliest and latest second (epoch)
        at which a key with one of their hashes was stored: every key of a shared hash counts."""
        hit = np.zeros(len(probes), dtype=bool)
        earliest, latest = int(np.iinfo(np.uint32).max), 0
        bucket = _buckets(probes, self.shift)
        at, end = self.directory[bucket], self.directory[bucket + 1]
        active = np.flatnonzero(at < end)
        at, end, probes = at[active], end[active], probes[active]
        while len(active):  # one step along every probe's bucket at a time, to its end
            found = self.hashes[at] == probes
            if found.any():
                hit[active[found]] = True
                times = self.stored_s[at[found]]
                earliest, latest = min(earliest, int(times.min())), max(latest, int(times.max()))
            at += 1
            going = at < end
            active, at, end, probes = active[going], at[going], end[going], probes[going]
        return hit, earliest, latest

    def keep(self, mask: np.ndarray) -> _Hashed:
        return _Hashed.of(self.hashes[mask], self.stored_s[mask])

    def merged(self, other: _Hashed) -> _Hashed:
        """Both, still sorted, in linear time (the other's elements inserted at their places)."""
        size = len(self.hashes) + len(other.hashes)
        places = np.searchsorted(self.hashes, other.hashes) + np.arange(len(other.hashes))
        mine = np.ones(size, dtype=bool)
        mine[places] = False
        hashes = np.empty(size, dtype=np.int64)
        stored = np.empty(size, dtype=np.uint32)
        hashes[places], stored[places] = other.hashes, other.stored_s
        hashes[mine], stored[mine] = self.hashes, self.stored_s
        return _Hashed.of(hashes, stored, min(self.oldest_s, other.oldest_s))

    @property
    def nbytes(self) -> int:
        return int(self.hashes.nbytes + self.stored_s.nbytes + self.directory.nbytes)


def _buckets(hashes: np.ndarray, shift: np.uint64) -> np.ndarray:
    """The top bits of each int64 hash, in the hashes' sort order (the sign bit flipped), as
    int64 (they are below 2**bits: non-negative), in one scratch array."""
    buckets = hashes.view(np.uint64) ^ _SIGN
    buckets >>= shift
    return buckets.view(np.int64)


class RecentEventIds:
    """Event ids with the time (epoch µs) they were stored, forgotten oldest first.

    An id is forgotten once it is older than `horizon_s` (at most a minute later), or
    earlier when more than `max_ids` are held: memory stays bounded under any load.
    `hash_key` turns a key into an int64 (Python's `hash`: keys live in this process only).

    >>> ids = RecentEventIds(horizon_s=60)
    >>> ids.add_many(["a"], 0)
    >>> ids.stored_among(["a", "b"], confirm=lambda candidates, earliest_s, latest_s: candidates)
    {'a'}
    >>> ids.add_many(["b"], 61_000_000)  # "a" is now older than the horizon
    >>> ids.stored_among(["a"], confirm=lambda candidates, earliest_s, latest_s: candidates), len(ids)
    (set(), 1)
    """

    def __init__(
        self,
        horizon_s: float = 86_400,
        max_ids: int = 5_000_000,
        *,
        fresh_max_ids: int = FRESH_MAX_IDS,
        max_array_ids: int = MAX_ARRAY_IDS,
        hash_key: Callable[[str], int] = hash,
    ) -> None:
        self.horizon_s = horizon_s
        self.max_ids = max_ids
        self._fresh_max = fresh_max_ids
        self._array_max = max_array_ids
        self._hash = hash_key
        self._fresh: set[str] = set()
        # (stored_us, ids) per commit, oldest first; a tuple costs 8 bytes per id, a set ~4x that
        self._commits: deque[tuple[int, tuple[str, ...]]] = deque()
        self._hashed: list[_Hashed] = []  # oldest (largest) first
        self._hashed_count = 0

    def __len__(self) -> int:
        return len(self._fresh) + self._hashed_count

    @property
    def nbytes(self) -> int:
        """Bytes held by the hashed keys (the exact ones are at most `fresh_max_ids` strings)."""
        return sum(part.nbytes for part in self._hashed)

    def stored_among(self, event_ids: Collection[str], confirm: Confirm) -> set[str]:
        """The ids among `event_ids` stored within the horizon.

        `confirm(candidates, earliest_s, latest_s)` returns which of the candidate ids (they
        matched by hash only) really were stored; the seconds say when their matching hashes
        were stored, so that the lookup can read only those events. Called only when there are
        candidates.
        """
        found = self._fresh.intersection(event_ids)
        if not self._hashed:
            return found
        rest = [event_id for event_id in event_ids if event_id not in found] if found else list(event_ids)
        if not rest:
            return found
        probes = np.fromiter(map(self._hash, rest), dtype=np.int64, count=len(rest))
        hit = np.zeros(len(rest), dtype=bool)
        earliest, latest = np.iinfo(np.uint32).max, 0
        for part in self._hashed:
            matched, part_earliest, part_latest = part.matches(probes)
            if matched.any():
                hit |= matched
                earliest, latest = min(earliest, part_earliest), max(latest, part_latest)
        if hit.any():
            candidates = [event_id for event_id, matched in zip(rest, hit.tolist(), strict=True) if matched]
            found.update(set(confirm(candidates, earliest, latest)) & set(candidates))
        return found

    def add_many(self, event_ids: Iterable[str], stored_us: int) -> None:
        """Remember ids stored together at `stored_us` (none of them held already)."""
        added = tuple(event_ids)
        if added:
            self._fresh.update(added)
            self._commits.append((stored_us, added))
        oldest_kept_us = stored_us - int(self.horizon_s * 1_000_000)
        while self._commits and self._commits[0][0] < oldest_kept_us:
            self._fresh.difference_update(self._commits.popleft()[1])
        if len(self._fresh) > self._fresh_max:
            self._hash_fresh()
        self._expire(oldest_kept_us // 1_000_000)
        if len(self) > self.max_ids:
            self._trim()

    def _hash_fresh(self) -> None:
        ids = [event_id for _, commit in self._commits for event_id in commit]
        times = np.repeat(
            np.array([us // 1_000_000 for us, _ in self._commits], dtype=np.uint32),
            [len(commit) for _, commit in self._commits],
        )
        hashes = np.fromiter(map(self._hash, ids), dtype=np.int64, count=len(ids))
        order = np.argsort(hashes, kind="stable")
        self._commits.clear()
        self._fresh.clear()
        self._push(_Hashed.of(hashes[order], times[order]))

    def _push(self, part: _Hashed) -> None:
        self._hashed.append(part)
        self._hashed_count += len(part.hashes)
        while len(self._hashed) > 1:
            older_ids, newer_ids = len(self._hashed[-2].hashes), len(self._hashed[-1].hashes)
            if older_ids >= 2 * newer_ids or older_ids + newer_ids > self._array_max:
                break
            newer = self._hashed.pop()
            self._hashed[-1] = self._hashed[-1].merged(newer)

    def _expire(self, oldest_kept_s: int) -> None:
        kept: list[_Hashed] = []
        for part in self._hashed:
            if part.oldest_s < oldest_kept_s - _EXPIRY_SLACK_S:
                part = part.keep(part.stored_s >= oldest_kept_s)
            if len(part.hashes):
                kept.append(part)
        self._hashed = kept
        self._hashed_count = sum(len(part.hashes) for part in kept)

    def _trim(self) -> None:
        """Forget the oldest keys until `_TRIM_TO` of `max_ids` are held (the exact ones last)."""
        target = int(self.max_ids * _TRIM_TO)
        while self._commits and len(self._fresh) > target:
            self._fresh.difference_update(self._commits.popleft()[1])
        room = target - len(self._fresh)
        if self._hashed_count > room:
            if room <= 0:
                self._hashed, self._hashed_count = [], 0
                return
            # exactly `room` keys kept, the newest (ties in a second broken by position)
            times = np.concatenate([part.stored_s for part in self._hashed])
            keep = np.zeros(len(times), dtype=bool)
            keep[np.argpartition(times, len(times) - room)[len(times) - room :]] = True
            kept, at = [], 0
            for part in self._hashed:
                mask = keep[at : at + len(part.hashes)]
                at += len(part.hashes)
                if mask.any():
                    kept.append(part.keep(mask))
            self._hashed = kept
            self._hashed_count = sum(len(part.hashes) for part in kept)

    def load(self, event_ids: list[str], stored_us: np.ndarray) -> None:
        """Remember ids reloaded from the store (at start-up), straight into the hashed arrays."""
        if not event_ids:
            return
        hashes = np.fromiter(map(self._hash, event_ids), dtype=np.int64, count=len(event_ids))
        order = np.argsort(hashes, kind="stable")
        self._push(_Hashed.of(hashes[order], (np.asarray(stored_us) // 1_000_000).astype(np.uint32)[order]))
