"""The dashboard's test world: a real API with data, and a real `streamlit run`, started by pid."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from tests.support.server import REPO, free_port, stop_by_pid, wait_until_ready
from widget_monitor.launcher import dashboard_command

APP = REPO / "streamlit_app" / "app.py"


def run_app(api_url: str, token: str | None, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The dashboard in AppTest against `api_url`, signed in with `token` from the environment
    (None: no token, the sign-in form), run once and free of exceptions."""
    monkeypatch.setenv("WIDGET_MONITOR_API_URL", api_url)
    if token is None:
        monkeypatch.delenv("WIDGET_MONITOR_API_TOKEN", raising=False)
    else:
        monkeypatch.setenv("WIDGET_MONITOR_API_TOKEN", token)
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def bearer(token: str | None) -> dict[str, str]:
    """The header a token is sent in (none in open mode)."""
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def create_token(api_url: str, admin_token: str, name: str, role: str, customer: str | None = None) -> str:
    """A new API token made with the admin token: its secret."""
    body = {"name": name, "role": role, "customerId": customer}
    answer = httpx.post(
        f"{api_url}/api/monitoring/tokens", json=body, headers=bearer(admin_token), timeout=30
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def post_events(api_url: str, events: list[dict[str, Any]], token: str | None = None) -> None:
    with httpx.Client(timeout=60, headers=bearer(token)) as client:
        for first in range(0, len(events), 1000):
            answer = client.post(f"{api_url}/api/monitoring/widget", json=events[first : first + 1000])
            answer.raise_for_status()


def fire_data_loss_alert(api_url: str, customer: str = "acme", token: str | None = None) -> dict[str, Any]:
    """Post saves with data loss just now, run the alert check, return the unresolved data-loss alert.

    With `token` (an unscoped admin's) against a server that enforces credentials. Under
    `perCustomer = true` the customer's own alert is returned rather than the one over everyone.
    """
    now_ms = datetime.now(UTC).timestamp() * 1000
    saves = [
        {
            "type": "persistence",
            "metric": {
                "operation": "save",
                "success": i % 4 != 0,
                "duration": 30.0,
                "dataLoss": i % 4 == 0,
                "customerId": customer,
                "timestamp": now_ms - i * 100,
            },
        }
        for i in range(40)
    ]
    post_events(api_url, saves, token)
    headers = bearer(token)
    httpx.post(
        f"{api_url}/api/monitoring/alerts/check", json={}, headers=headers, timeout=30
    ).raise_for_status()
    alerts = httpx.get(
        f"{api_url}/api/monitoring/alerts", params={"resolved": "false"}, headers=headers, timeout=30
    ).json()
    losses = [
        a
        for a in alerts["data"]
        if a["ruleId"] == "persistence.data_loss" and a["customerId"] in (None, customer)
    ]
    losses.sort(key=lambda a: a["customerId"] != customer)  # the customer's own first (perCustomer)
    assert losses, f"no data-loss alert fired: {alerts}"
    return dict(losses[0])


def alert(api_url: str, alert_id: str, token: str | None = None) -> dict[str, Any]:
    answer = httpx.get(f"{api_url}/api/monitoring/alerts/{alert_id}", headers=bearer(token), timeout=30)
    answer.raise_for_status()
    return dict(answer.json())


def recent_window(hours: float) -> tuple[datetime, datetime]:
    end = datetime.now(UTC)
    return end - timedelta(hours=hours), end


class StreamlitProcess:
    """`streamlit run streamlit_app/app.py` on a free loopback port, reading `api_url`.

    `env` adds to the dashboard's environment (e.g. `WIDGET_MONITOR_API_TOKEN`); a token in
    the test runner's own environment is never passed on unless given here.
    """

    def __init__(self, api_url: str, log_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.api_url = api_url
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"streamlit-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> StreamlitProcess:
        inherited = {k: v for k, v in os.environ.items() if k != "WIDGET_MONITOR_API_TOKEN"}
        env = {**inherited, "WIDGET_MONITOR_API_URL": self.api_url, **self.extra_env}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            dashboard_command(self.api_url, port=self.port),
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until_ready(f"{self.url}/_stcore/health", timeout_s=60, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_by_pid(self.process)
        self.process = None

    def __enter__(self) -> StreamlitProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
