"""Keep the server and its decoder processes lean: no pandas, Arrow on the system allocator, and
big blocks given back to the system when freed.

`pyarrow.array(list)` imports pandas, if it is installed, only to ask whether the list is a
pandas object: ~45 MB of resident memory per process for nothing (the dashboard's
Streamlit installs pandas beside the server). With `refuse_pandas()` the import fails
as if pandas were not installed, and pyarrow carries on without it.

Arrow's default allocator (mimalloc) keeps the pages of each batch's columns for reuse;
the system allocator gives them back: 20 MB less at the peak of a 1M-event load
(docs/history.md#memory), at no measured cost in ingest speed (the columns of a
1000-event batch are a few hundred KB). A decoder process does not load Arrow at all
(`analytics.ingest.event_columns`).

glibc serves a block of 128 KB or more with its own mapping, given back when freed, but raises
that bound to the size of each such block freed (up to 32 MB): after the first big Arrow column
or dedupe array goes, the next ones come from the heap, where a small object allocated after
them keeps their pages from ever being returned. `fixed_malloc_thresholds` pins the bound at
1 MB (and the heap's trim threshold at 4 MB): on the 101M-event bench store with 1M events
posted, 25 MB less at the peak of ingest and 15-30 MB less at the peak of the reads, at the same
speed; at 256 KB it was 45 MB less and reads 30 % slower (each block mapped and zeroed anew:
docs/benchmarks.md, stop 34). DuckDB has its own allocator (jemalloc).
"""

from __future__ import annotations

import ctypes
import importlib.abc
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType


class _NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError("pandas is not used by widget-monitor serve", name=fullname)
        return None


def make_lean(*, arrow: bool = True) -> None:
    """Call first in the server (before its decoders start) and in each decoder process
    (`arrow=False`: it never loads pyarrow, and this does not load it either)."""
    refuse_pandas()
    fixed_malloc_thresholds()
    # Arrow reads the variable once, when it loads: this process may have loaded it already
    # (set_memory_pool covers it).
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if arrow:
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def refuse_pandas() -> None:
    """From now on, in this process, `import pandas` fails (unless it was imported already)."""
    if not any(isinstance(finder, _NoPandas) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD_BYTES = 1024 * 1024
TRIM_THRESHOLD_BYTES = 4 * 1024 * 1024


def fixed_malloc_thresholds() -> bool:
    """Pin glibc's mmap and trim thresholds (no dynamic raising); False where there is no glibc."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
