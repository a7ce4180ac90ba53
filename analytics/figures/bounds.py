"""The ranges every figure of a kind can take, so a rule refuses a threshold that can never fire."""

from __future__ import annotations

from analytics.figures.figure import MIB
from analytics.ingest.events import MAX_BYTES, MAX_DURATION_MS

PERCENT = (0.0, 100.0)
MS = (0.0, float(MAX_DURATION_MS))
MB = (0.0, MAX_BYTES / MIB)
COUNT = (0.0, float("inf"))
FPS = (0.0, 1000.0)
