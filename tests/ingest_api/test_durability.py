"""A 2xx means committed: acknowledged events survive a restart and a kill -9."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow  # `make test-slow` (CI runs it after `make test`)


def _render(i: int) -> dict[str, object]:
    return {"type": "render", "metric": {"renderTime": float(i % 40), "eventId": f"ev-{i}"}}


def _count(server: ServerProcess) -> int:
    summary = httpx.get(
        f"{server.url}/api/monitoring/widget",
        params={"window": 3_600_000},
        headers={"Cache-Control": "no-cache"},
    ).json()
    return int(summary["performance"]["renders"]["count"])


def test_events_survive_a_clean_restart(data_dir: Path) -> None:
    with ServerProcess(data_dir) as server:
        answer = httpx.post(f"{server.url}/api/monitoring/widget", json=[_render(i) for i in range(250)])
        assert answer.status_code == 200 and answer.json()["stored"] == 250
    with ServerProcess(data_dir) as server:
        assert _count(server) == 250
        # the idempotency keys survive too: a retry after the restart is not stored again
        retry = httpx.post(f"{server.url}/api/monitoring/widget", json=[_render(i) for i in range(10)])
        assert retry.json()["duplicates"] == 10
        assert _count(server) == 250


def test_every_acknowledged_event_survives_kill_9(data_dir: Path) -> None:
    server = ServerProcess(data_dir).start()
    acknowledged: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def post_until_stopped(worker: int) -> None:
        with httpx.Client(timeout=5) as client:
            i = worker * 1_000_000
            while not stop.is_set():
                batch = [_render(i + k) for k in range(20)]
                try:
                    answer = client.post(f"{server.url}/api/monitoring/widget", json=batch)
                except httpx.TransportError:
                    return  # the server died mid-request: not acknowledged
                if answer.status_code == 200:
                    with lock:
                        acknowledged.extend(range(i, i + 20))
                i += 20

    workers = [threading.Thread(target=post_until_stopped, args=(w,)) for w in range(4)]
    for w in workers:
        w.start()
    try:
        while True:
            with lock:
                if len(acknowledged) >= 2000:
                    break
            stop.wait(0.01)
        health = httpx.get(f"{server.url}/healthz").json()
        decoders = health["decoderProcesses"]
        assert len(decoders) == 1
        # /healthz's resident memory, against the kernel's VmRSS line (decoders change less than the server)
        memory = health["memory"]
        assert memory["totalResidentBytes"] == memory["serverResidentBytes"] + sum(
            memory["decoderResidentBytes"]
        )
        assert memory["decoderResidentBytes"][0] == pytest.approx(_vm_rss(decoders[0]), rel=0.25)
        assert server.process is not None
        assert memory["serverResidentBytes"] == pytest.approx(_vm_rss(server.process.pid), rel=0.5)
        # the decoder holds what decoding needs (msgspec), not the server's store and web stack,
        # nor Arrow and numpy (it packs Arrow's buffers itself); neither process loads pandas,
        # which pyarrow would import for nothing
        decoder_libraries = _mapped_packages(decoders[0])
        assert "msgspec" in decoder_libraries
        assert not decoder_libraries & {"_duckdb", "pyarrow", "numpy", "pandas", "pydantic_core", "polars"}
        server_libraries = _mapped_packages(server.process.pid)
        assert "_duckdb" in server_libraries
        assert "pandas" not in server_libraries
        server.kill()  # SIGKILL while requests are in flight
    finally:  # a failed check must not leave the posters and the server running
        stop.set()
        for w in workers:
            w.join()
        server.stop()
    # the decoder process notices its parent is gone and exits (it would hold nothing, but
    # a killed server must not leave processes behind)
    deadline = time.monotonic() + 10
    while not all(_exited(pid) for pid in decoders) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_exited(pid) for pid in decoders)

    with ServerProcess(data_dir) as restarted:
        stored = _count(restarted)
        duplicates = 0
        for start in range(0, len(acknowledged), 1000):
            chunk = acknowledged[start : start + 1000]
            answer = httpx.post(f"{restarted.url}/api/monitoring/widget", json=[_render(i) for i in chunk])
            duplicates += answer.json()["duplicates"]
    assert stored >= len(acknowledged)
    # every acknowledged id is in the store: re-sending all of them stores nothing new
    assert duplicates == len(acknowledged)


def _mapped_packages(pid: int) -> set[str]:
    """The site-packages entries (package directories, single-file extensions) a process has mapped."""
    found = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        _, marker, rest = line.partition("/site-packages/")
        if marker:
            found.add(rest.split("/")[0].split(".")[0])
    return found


def _vm_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _exited(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # a zombie has exited; only its parent's wait() is missing
