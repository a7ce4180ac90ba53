"""Ingest work runs at a lower priority than reads: the decoder processes and the writer's thread."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from ingest_api.priority import INGEST_NICENESS
from tests.support.server import ServerProcess

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="per-thread niceness is a Linux feature")


def _niceness(pid: int, tid: int | None = None) -> int:
    """Field 19 of /proc/<pid>[/task/<tid>]/stat (after the command name in parentheses)."""
    path = Path(f"/proc/{pid}") if tid is None else Path(f"/proc/{pid}/task/{tid}")
    return int((path / "stat").read_text().rsplit(")", 1)[1].split()[16])


def test_decoders_and_the_writer_yield_the_cpu_to_reads(data_dir: Path) -> None:
    with ServerProcess(data_dir) as server:
        assert server.process is not None
        pid = server.process.pid
        decoders = httpx.get(f"{server.url}/healthz").json()["decoderProcesses"]
        by_thread = {int(t.name): _niceness(pid, int(t.name)) for t in Path(f"/proc/{pid}/task").iterdir()}
        assert by_thread[pid] == 0  # the event loop, which answers reads too
        # the writer's thread, and no other: DuckDB's and the readers' threads keep theirs
        assert sorted(by_thread.values()).count(INGEST_NICENESS) == 1
        assert decoders and all(_niceness(d) == INGEST_NICENESS for d in decoders)
