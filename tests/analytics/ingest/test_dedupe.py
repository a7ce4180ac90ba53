"""RecentEventIds: what a retry is checked against, and how memory stays bounded."""

from __future__ import annotations

import time

from analytics.ingest.dedupe import RecentEventIds

SECOND_US = 1_000_000


def test_ids_are_forgotten_once_older_than_the_horizon_not_before() -> None:
    ids = RecentEventIds(horizon_s=60)
    ids.add_many(["a", "b"], 0)
    ids.add_many(["c"], 30 * SECOND_US)
    ids.add_many(["d"], 60 * SECOND_US)  # "a" and "b" are exactly 60 s old: still kept
    assert {"a", "b", "c", "d"} <= {i for i in "abcd" if i in ids}
    ids.add_many(["e"], 60 * SECOND_US + 1)
    assert [i for i in "abcde" if i in ids] == ["c", "d", "e"]


def test_over_max_ids_the_oldest_commits_are_forgotten_first() -> None:
    ids = RecentEventIds(horizon_s=3600, max_ids=5)
    ids.add_many(["a1", "a2"], 1)
    ids.add_many(["b1", "b2"], 2)
    ids.add_many(["c1", "c2"], 3)  # 6 held > 5: the oldest commit goes
    assert [i for i in ["a1", "a2", "b1", "b2", "c1", "c2"] if i in ids] == ["b1", "b2", "c1", "c2"]
    assert len(ids) == 4
    assert ids.isdisjoint(["a1", "z"]) and not ids.isdisjoint(["z", "c2"])


def test_cost_per_id_stays_flat_when_the_cap_is_reached() -> None:
    """Regression: expiring one id at a time from the front of a dict is quadratic."""
    ids = RecentEventIds(horizon_s=86_400, max_ids=200_000)
    commits = [[f"{c}-{n}" for n in range(5_000)] for c in range(120)]  # 600k ids: 3x the cap
    started = time.perf_counter()
    for c, commit in enumerate(commits):
        ids.add_many(commit, c)
    elapsed = time.perf_counter() - started
    assert len(ids) == 200_000
    assert "119-0" in ids and "0-0" not in ids
    assert elapsed < 5  # ~0.2 s here; forgetting one id at a time from a dict took 27 s
