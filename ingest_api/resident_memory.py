"""What the server's processes hold in RAM (resident set size), read from /proc."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def resident_bytes(pid: int | None = None) -> int | None:
    """The resident set size of a process (this one by default); None where /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid or os.getpid()}/statm").read_text().split()
    except OSError:  # not Linux, or the process is gone
        return None
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def processes_memory(decoder_pids: Iterable[int]) -> dict[str, object]:
    """/healthz's `memory`: the server's and its decoder processes' resident bytes, and their sum."""
    server = resident_bytes()
    decoders = [size for pid in decoder_pids if (size := resident_bytes(pid)) is not None]
    return {
        "serverResidentBytes": server,
        "decoderResidentBytes": decoders,
        "totalResidentBytes": (server or 0) + sum(decoders),
    }
