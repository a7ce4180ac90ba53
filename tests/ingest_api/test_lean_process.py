"""The server's processes give big freed blocks back to the system (glibc's thresholds pinned)."""

from __future__ import annotations

import subprocess
import sys

from tests.support.server import REPO

# 100 MB in blocks of twice the pinned threshold, each followed by a small object that stays: what
# a burst of Arrow columns or dedupe arrays leaves among the server's longer-lived objects. MB held
# at the peak, then after the blocks are freed.
_BURST = r"""
import sys
from ingest_api.lean_process import MMAP_THRESHOLD_BYTES, make_lean
def rss(): return int(open("/proc/self/statm").read().split()[1]) * 4096
if sys.argv[1] == "lean":
    make_lean(arrow=False)
size = 2 * MMAP_THRESHOLD_BYTES
first = bytearray(2 * size); del first  # a freed mapped block: glibc raises its threshold to its size
before = rss()
kept, big = [], []
for n in range((100 << 20) // size):
    big.append(bytearray(size))
    kept.append(bytearray(64))
peak = rss()
del big
print((peak - before) >> 20, (rss() - before) >> 20)
"""


def _held_mb(mode: str) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", _BURST, mode], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    peak, after = map(int, done.stdout.split())
    return peak, after


def test_a_burst_of_big_blocks_is_given_back_once_freed() -> None:
    plain, lean = _held_mb("plain"), _held_mb("lean")
    assert plain[0] >= 90 and lean[0] >= 90  # both held the 100 MB while in use
    assert plain[1] >= 90  # glibc's own way: the heap keeps them (the small objects pin it)
    assert lean[1] <= 5  # pinned thresholds: each big block was a mapping of its own, unmapped
