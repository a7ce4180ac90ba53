"""A real widget-monitor server on a free loopback port, started and stopped by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from widget_monitor.processes import stop_by_pid, wait_until_ready

__all__ = ["LOCAL", "REPO", "ServerProcess", "free_port", "stop_by_pid", "wait_until_ready"]

REPO = Path(__file__).resolve().parents[2]
# The base URL of in-process test clients: a loopback Host, as open mode asks (DNS rebinding).
LOCAL = "http://127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`widget-monitor serve` in a subprocess of its own."""

    def __init__(
        self,
        data_dir: Path,
        *,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = ("--log-level", "warning"),
    ) -> None:
        self.data_dir = data_dir
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    def start(self) -> ServerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "widget_monitor.cli",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                *self.args,
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(f"{self.url}/healthz", process=self.process)
        except BaseException:  # a server that never answered is stopped all the same
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final checkpoint."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_by_pid(self.process)
        self.process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
