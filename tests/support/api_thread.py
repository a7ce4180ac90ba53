"""The API served from the test's own process: uvicorn in a thread, on a free loopback port.

A test that changes what only the API's process holds (the figure registry, through
`analytics.figures.replaced`) needs the API there: `ServerProcess` runs it in a process of
its own, where the test cannot reach. AppTest runs the dashboard in this process too, so
dashboard, API and test share the registry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.server import free_port


@contextmanager
def api_in_thread(settings: Settings, *, timeout_s: float = 60.0) -> Iterator[str]:
    """Serve `create_app(settings)` in a thread for the duration of a block; yield its base URL.

    Ready once `/healthz` answers 200; stopped (`should_exit`, the thread joined) however the
    block ends, a start that fails or times out included.
    """
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"api-thread-{port}", daemon=True)
    url = f"http://127.0.0.1:{port}"
    thread.start()
    try:
        _wait_until_ready(url, thread, timeout_s)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=timeout_s)
        if thread.is_alive():  # a lingering connection: stop waiting for it
            server.force_exit = True
            thread.join(timeout=10)


def _wait_until_ready(url: str, thread: threading.Thread, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"the API thread for {url} ended before it answered")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"the API at {url} did not answer /healthz within {timeout_s:g} s")
