"""Running the SDK's JavaScript with the machine's node and npm, for the tests of the npm package."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SDK_DIR = Path(__file__).resolve().parents[2] / "sdk"


def tool(name: str) -> str:
    """The path of `name` (node, npm); the test fails where it is missing (the machines this
    runs on come with Node.js 20 and npm: a missing one is a broken setup, not a pass)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (Node.js 20 or later runs the SDK's package tests)")
    return path


def run(name: str, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run node or npm in `cwd`; its stdout, once it has exited 0 (else the test fails with its output)."""
    done = subprocess.run(
        [tool(name), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (
        f"{name} {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def node(*args: str, cwd: Path = SDK_DIR) -> str:
    return run("node", *args, cwd=cwd)
