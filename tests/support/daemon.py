"""A Prometheus-family daemon (Debian's `prometheus`, `prometheus-alertmanager`) on loopback for a test."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.server import free_port, stop_by_pid, wait_until_ready


@contextmanager
def loopback_daemon(binary: Path, flags: list[str], log_path: Path, *, install: str) -> Iterator[str]:
    """`binary` with `flags`, listening on a free loopback port until it answers `/-/ready`;
    yields its base URL and stops it by its pid afterwards. Its output goes to `log_path`."""
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run `{install}`")
    port = free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(binary), *flags, f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{base}/-/ready", process=process)
        yield base
    finally:
        stop_by_pid(process)
