"""Keep the server and its decoder processes lean: no pandas, and Arrow on the system allocator.

`pyarrow.array(list)` imports pandas, if it is installed, only to ask whether the list is a
pandas object: ~45 MB of resident memory per process for nothing (the dashboard's
Streamlit installs pandas beside the server). With `refuse_pandas()` the import fails
as if pandas were not installed, and pyarrow carries on without it.

Arrow's default allocator (mimalloc) keeps the pages of each batch's columns for reuse;
the system allocator gives them back: 20 MB less at the peak of a 1M-event load
(docs/history.md#memory), at no measured cost in ingest speed (the columns of a
1000-event batch are a few hundred KB). A decoder process does not load Arrow at all
(`analytics.ingest.event_columns`).
"""

from __future__ import annotations

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
