"""The examples in the docstrings of every package's modules run and print what they claim."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("analytics", "ingest_api", "streamlit_app", "widget_monitor")
# The dashboard's pages (and app.py, which runs them) call Streamlit as they are imported:
# they are scripts, not modules one can import to read their docstrings, so they are left out.
NOT_IMPORTABLE = (ROOT / "streamlit_app" / "app_pages", ROOT / "streamlit_app" / "app.py")

# every module with an example in it, so that a new one cannot be left out
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for package in PACKAGES
    for path in (ROOT / package).rglob("*.py")
    if not any(path == skipped or skipped in path.parents for skipped in NOT_IMPORTABLE)
    and ">>> " in path.read_text(encoding="utf-8")
)


def test_the_modules_with_examples_are_found() -> None:
    assert {
        "analytics.ingest.intake",
        "analytics.storage.store",
        "ingest_api.backlog",
        "streamlit_app.shaping",
    } <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
