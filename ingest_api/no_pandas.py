"""Keep pandas out of the server and its decoder processes, which never use it.

`pyarrow.array(list)` imports pandas, if it is installed, only to ask whether the list is a
pandas object: ~45 MB of resident memory per process for nothing (the dashboard's
Streamlit installs pandas beside the server). With `refuse_pandas()` the import fails
as if pandas were not installed, and pyarrow carries on without it.
"""

from __future__ import annotations

import importlib.abc
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


def refuse_pandas() -> None:
    """From now on, in this process, `import pandas` fails (unless it was imported already)."""
    if not any(isinstance(finder, _NoPandas) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())
