"""The figure registry: every figure the product reports, declared once.

One small module per event type registers its measures (what one can chart) and figures
(what the summary, the alerts, health and the export report), the same way a figure added
later would (`register_figure`). Read the registry through `figures()`, `measures()` and
`tallies()` (events counted by a label: errors by type).
"""

from __future__ import annotations

import importlib

from analytics.figures.declare import aggregate_sql, on, stats_of
from analytics.figures.figure import Export, Figure, Measure, RuleSpec, Tally
from analytics.figures.registry import (
    derived,
    figure_named,
    figures,
    measure_named,
    measures,
    register_figure,
    register_measure,
    register_tally,
    registered,
    replaced,
    rolled_up,
    tallies,
    version,
)

# The built-in figures, one module per event type, registered in this order (the order of
# the catalogue and the export), as datasette loads its default plugins by module name.
BUILT_IN = ("persistence", "render", "scroll", "memory", "tab_sync", "api", "bundle")
for _module in BUILT_IN:
    importlib.import_module(f"analytics.figures.{_module}")

__all__ = [
    "BUILT_IN",
    "Export",
    "Figure",
    "Measure",
    "RuleSpec",
    "Tally",
    "aggregate_sql",
    "derived",
    "figure_named",
    "figures",
    "measure_named",
    "measures",
    "on",
    "register_figure",
    "register_measure",
    "register_tally",
    "registered",
    "replaced",
    "rolled_up",
    "stats_of",
    "tallies",
    "version",
]
