"""RecentEventIds: what a retry is checked against, and how memory stays bounded."""

from __future__ import annotations

import time
import tracemalloc

from analytics.ingest.dedupe import RecentEventIds

SECOND_US = 1_000_000


def held(ids: RecentEventIds, keys: list[str], stored: set[str] | None = None) -> list[str]:
    """The keys `ids` reports stored; hash-only candidates confirmed against `stored` (all by default)."""

    def confirm(candidates: list[str], earliest_s: int, latest_s: int) -> list[str]:
        assert earliest_s <= latest_s
        return candidates if stored is None else [k for k in candidates if k in stored]

    found = ids.stored_among(keys, confirm=confirm)
    return [k for k in keys if k in found]


def test_ids_are_forgotten_once_older_than_the_horizon_not_before() -> None:
    ids = RecentEventIds(horizon_s=60)
    ids.add_many(["a", "b"], 0)
    ids.add_many(["c"], 30 * SECOND_US)
    ids.add_many(["d"], 60 * SECOND_US)  # "a" and "b" are exactly 60 s old: still kept
    assert held(ids, list("abcd")) == list("abcd")
    ids.add_many(["e"], 60 * SECOND_US + 1)
    assert held(ids, list("abcde")) == ["c", "d", "e"]


def test_hashed_ids_are_forgotten_after_the_horizon_within_a_minute() -> None:
    ids = RecentEventIds(horizon_s=3600, fresh_max_ids=2)
    ids.add_many(["a", "b", "c"], 0)  # more than 2 exact ids: hashed
    assert ids.nbytes > 0 and held(ids, ["a", "b", "c"], stored=set()) == []  # only hashes are left
    assert held(ids, ["a", "b", "c"]) == ["a", "b", "c"]
    ids.add_many(["d"], (3600 + 59) * SECOND_US)
    assert held(ids, ["a", "d"]) == ["a", "d"]  # past the horizon by less than a minute: still held
    ids.add_many(["e"], (3600 + 61) * SECOND_US)
    assert held(ids, ["a", "b", "c", "d", "e"]) == ["d", "e"]


def test_over_max_ids_the_oldest_commits_are_forgotten_first() -> None:
    ids = RecentEventIds(horizon_s=3600, max_ids=5)
    ids.add_many(["a1", "a2"], 1)
    ids.add_many(["b1", "b2"], 2)
    ids.add_many(["c1", "c2"], 3)  # 6 held > 5: the oldest commit goes
    assert held(ids, ["a1", "a2", "b1", "b2", "c1", "c2"]) == ["b1", "b2", "c1", "c2"]
    assert len(ids) == 4


def test_a_hash_collision_is_confirmed_exactly_never_taken_for_a_retry() -> None:
    """Every key hashes alike: only the exact check tells a retry from a new event."""
    ids = RecentEventIds(horizon_s=3600, fresh_max_ids=1, hash_key=lambda key: 7)
    ids.add_many(["stored-1", "stored-2"], 0)  # hashed at once
    asked: list[list[str]] = []

    def confirm(candidates: list[str], earliest_s: int, latest_s: int) -> list[str]:
        asked.append(sorted(candidates))
        assert (earliest_s, latest_s) == (0, 0)  # both hashed at 0 s
        return [c for c in candidates if c in {"stored-1", "stored-2"}]

    assert ids.stored_among(["new", "stored-2"], confirm) == {"stored-2"}
    assert asked == [["new", "stored-2"]]
    # a confirm that answers more than it was asked cannot add ids
    assert ids.stored_among(["new"], lambda c, lo, hi: ["new", "stored-1"]) == {"new"}
    assert ids.stored_among(["other"], lambda c, lo, hi: []) == set()


def test_keys_sharing_a_hash_at_different_times_are_all_in_the_window_confirmed() -> None:
    """A retry of the later key is confirmed over a window that holds it, not only the first
    key of its hash (the lookup reads only the events stored in that window)."""
    ids = RecentEventIds(horizon_s=3600, fresh_max_ids=5, hash_key=lambda key: 7)
    for second, key in ((10, "early"), (20, "middle"), (30, "late")):
        ids.add_many([key, f"{key}-too"], second * SECOND_US)  # the 6th exact id: all hashed, one array
    assert len(ids._hashed) == 1
    windows: list[tuple[int, int]] = []

    def confirm(candidates: list[str], earliest_s: int, latest_s: int) -> list[str]:
        windows.append((earliest_s, latest_s))
        return [c for c in candidates if c == "late"]

    assert ids.stored_among(["late"], confirm) == {"late"}
    assert windows == [(10, 30)]


def test_arrays_stop_merging_at_their_cap_and_every_id_is_still_found() -> None:
    ids = RecentEventIds(horizon_s=86_400, fresh_max_ids=100, max_array_ids=1_000)
    commits = [[f"{c}-{n}" for n in range(50)] for c in range(400)]  # 20,000 ids
    for c, commit in enumerate(commits):
        ids.add_many(commit, c * SECOND_US)
    every = [key for commit in commits for key in commit]
    assert max(len(part.hashes) for part in ids._hashed) <= 1_000
    hashed = len(every) - len(held(ids, every, stored=set()))  # the newest are still exact
    assert hashed >= 19_850 and len(ids._hashed) >= hashed / 1_000
    assert held(ids, every) == every and held(ids, ["0-50", "x"]) == []


def test_a_merge_needs_scratch_for_one_array_not_for_every_id_held() -> None:
    """Peak memory while ids come in stays near what is held: merging everything into one array
    needs ~20 bytes of scratch per id (the merged copy, the insert places) at once."""
    commits = [[f"tab-{c:06d}:{n}" for n in range(1000)] for c in range(600)]  # 600k ids
    ids = RecentEventIds(horizon_s=86_400, fresh_max_ids=10_000, max_array_ids=1 << 15)
    tracemalloc.start()
    try:
        for c, commit in enumerate(commits):
            ids.add_many(commit, c * SECOND_US)
        held_bytes, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(ids) == 600_000
    # 0.46 MB here; 7.5 MB with the cap lifted (every array merged into one as it grew)
    assert peak_bytes - held_bytes < 2_000_000


def test_hashed_arrays_merge_and_still_find_every_id() -> None:
    ids = RecentEventIds(horizon_s=86_400, fresh_max_ids=100)
    commits = [[f"{c}-{n}" for n in range(37)] for c in range(200)]
    for c, commit in enumerate(commits):
        ids.add_many(commit, c * SECOND_US)
    every = [key for commit in commits for key in commit]
    # more than 100 exact ids are hashed every third commit: the last two commits are still exact,
    # and only they are reported when no candidate is confirmed
    assert held(ids, every, stored=set()) == every[-2 * 37 :]
    assert set(held(ids, every)) == set(every) and len(ids) == len(every)
    assert len(ids._hashed) <= 8  # sizes double: a lookup searches a handful of arrays
    hashed = len(every) - 2 * 37
    assert 12 * hashed < ids.nbytes <= 16 * hashed + 64  # 8-byte hash + 4-byte time + directory
    assert held(ids, ["0-37", "x"], stored={"0-37", "x"}) == []  # never added: no hash to match


def test_cost_per_id_stays_flat_when_the_cap_is_reached() -> None:
    """Regression: expiring one id at a time from the front of a dict is quadratic."""
    ids = RecentEventIds(horizon_s=86_400, max_ids=200_000)
    commits = [[f"{c}-{n}" for n in range(5_000)] for c in range(120)]  # 600k ids: 3x the cap
    started = time.perf_counter()
    for c, commit in enumerate(commits):
        ids.add_many(commit, c * SECOND_US)
    elapsed = time.perf_counter() - started
    assert 180_000 <= len(ids) <= 200_000
    assert held(ids, ["119-0", "0-0"]) == ["119-0"]
    assert elapsed < 5  # ~0.2 s here; forgetting one id at a time from a dict took 27 s


def test_over_max_ids_within_one_second_exactly_the_trim_is_forgotten() -> None:
    """Regression: trimming by a cutoff second forgot every id of that second at once."""
    ids = RecentEventIds(horizon_s=3600, max_ids=1000, fresh_max_ids=10)
    for n in range(0, 1001, 11):
        ids.add_many([f"k{i}" for i in range(n, min(n + 11, 1001))], 5 * SECOND_US)
    assert len(ids) == 900  # trimmed to 90 % of the cap, not to nothing
    assert len(held(ids, [f"k{i}" for i in range(1001)])) == 900
