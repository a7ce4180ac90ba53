"""Typed values read out of an alerting config document, each refusal naming its key."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analytics.errors import InvalidConfig


def mapping(raw: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidConfig(f"{path}: must be an object, got {type(raw).__name__}")
    return raw


def no_unknown(doc: Mapping[str, Any], known: set[str], prefix: str) -> None:
    unknown = sorted(set(doc) - known)
    if unknown:
        raise InvalidConfig(f"{prefix}{unknown[0]}: unknown setting; known: {', '.join(sorted(known))}")


def number(raw: Any, path: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise InvalidConfig(f"{path}: must be a finite number, got {raw!r}")
    return float(raw)


def integer(doc: Mapping[str, Any], key: str, default: int, low: int, high: int, *, prefix: str = "") -> int:
    raw = doc.get(key, default)
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise InvalidConfig(f"{prefix}{key}: must be an integer from {low} to {high}, got {raw!r}")
    return raw


def boolean(doc: Mapping[str, Any], key: str, default: bool, *, prefix: str = "") -> bool:
    raw = doc.get(key, default)
    if not isinstance(raw, bool):
        raise InvalidConfig(f"{prefix}{key}: must be true or false, got {raw!r}")
    return raw


def string(
    doc: Mapping[str, Any], key: str, default: str | None, *, prefix: str = "", allow_empty: bool = False
) -> str:
    raw = doc.get(key, default)
    if not isinstance(raw, str) or (not raw and not allow_empty):
        raise InvalidConfig(f"{prefix}{key}: must be a non-empty string, got {raw!r}")
    return raw


def choice(doc: Mapping[str, Any], key: str, default: Any, choices: tuple[str, ...]) -> Any:
    raw = doc.get(key, default)
    if raw not in choices:
        raise InvalidConfig(f"{key}: must be one of {', '.join(choices)}, got {raw!r}")
    return raw
