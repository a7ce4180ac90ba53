"""Access control on a real `widget-monitor serve`: secure defaults, the offline CLI, logs, file modes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from analytics.storage.store import DB_FILENAME
from tests.support.server import REPO, ServerProcess, free_port, stop_by_pid, wait_until_ready

ADMIN_TOKEN = "server-admin-token-0123456789abcdef"
WIDGET = "/api/monitoring/widget"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "widget_monitor.cli", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def cli_json(*args: str) -> Any:
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_public_bind_without_an_admin_token_refuses_to_start(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WIDGET_MONITOR_ADMIN_TOKEN"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "widget_monitor.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "0.0.0.0",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "WIDGET_MONITOR_ADMIN_TOKEN" in done.stderr and "--insecure" in done.stderr
    assert not (data_dir / DB_FILENAME).exists()  # refused before opening anything


def test_insecure_serves_a_public_bind_in_open_mode(data_dir: Path) -> None:
    port = free_port()
    args = ["serve", "--data-dir", str(data_dir), "--host", "0.0.0.0", "--port", str(port), "--insecure"]
    process = subprocess.Popen([sys.executable, "-m", "widget_monitor.cli", *args], cwd=REPO)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/healthz", process=process)
        who = httpx.get(f"http://127.0.0.1:{port}/api/monitoring/whoami").json()
        assert who["openMode"] is True
    finally:
        stop_by_pid(process)


@pytest.mark.slow
def test_the_cli_manages_credentials_that_a_running_server_obeys(data_dir: Path) -> None:
    with ServerProcess(data_dir, env={"WIDGET_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN}) as server:
        key = cli_json("keys", "create", "--data-dir", str(data_dir), "--customer-id", "acme")
        token = cli_json(
            "tokens", "create", "--data-dir", str(data_dir), "--name", "wall", "--role", "viewer"
        )
        assert key["key"].startswith("wmk_") and token["token"].startswith("wmt_")
        viewer = {"Authorization": f"Bearer {token['token']}"}

        def accepted(method: str, path: str, **kwargs: Any) -> bool:
            deadline = time.monotonic() + 5  # the server re-reads the access file within a second
            while True:
                ok = httpx.request(method, server.url + path, **kwargs).status_code == 200
                if ok or time.monotonic() > deadline:
                    return ok
                time.sleep(0.1)

        assert accepted(
            "POST", WIDGET, params={"key": key["key"]}, json={"type": "render", "metric": {"renderTime": 3}}
        )
        assert accepted("GET", "/api/monitoring/whoami", headers=viewer)
        listed = cli_json("keys", "list", "--data-dir", str(data_dir))
        assert [k["id"] for k in listed] == [key["id"]] and "key" not in listed[0]

        cli_json("keys", "revoke", "--data-dir", str(data_dir), key["id"])
        cli_json("tokens", "revoke", "--data-dir", str(data_dir), token["id"])
        time.sleep(1.2)  # RELOAD_INTERVAL_S
        assert httpx.post(server.url + WIDGET, params={"key": key["key"]}, json={}).status_code == 401
        assert httpx.get(server.url + "/api/monitoring/whoami", headers=viewer).status_code == 401

        audit = httpx.get(
            server.url + "/api/monitoring/audit", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ).json()["data"]
        assert [(e["actor"], e["action"]) for e in audit] == [
            ("cli", "token.revoke"),
            ("cli", "key.revoke"),
            ("cli", "token.create"),
            ("cli", "key.create"),
        ]
    again = cli("keys", "revoke", "--data-dir", str(data_dir), key["id"])
    assert again.returncode == 2 and "no active ingest key" in again.stderr


def test_the_cli_lists_and_revokes_tokens_and_warns_when_no_admin_could_sign_in(tmp_path: Path) -> None:
    without_admin = {"WIDGET_MONITOR_ADMIN_TOKEN": ""}
    first = cli(
        "tokens",
        "create",
        "--data-dir",
        str(tmp_path / "a"),
        "--name",
        "wall",
        "--role",
        "viewer",
        env=without_admin,
    )
    assert first.returncode == 0, first.stderr
    assert "first credential" in first.stderr and "tokens create --name cli --role admin" in first.stderr
    token = json.loads(first.stdout)
    second = cli(
        "tokens",
        "create",
        "--data-dir",
        str(tmp_path / "a"),
        "--name",
        "ops",
        "--role",
        "admin",
        env=without_admin,
    )
    assert second.returncode == 0 and second.stderr == ""  # not the first: said once
    listed = cli_json("tokens", "list", "--data-dir", str(tmp_path / "a"))
    assert [(t["name"], t["role"]) for t in listed] == [("wall", "viewer"), ("ops", "admin")]
    assert not any("token" in t for t in listed)  # no secret
    revoked = cli_json("tokens", "revoke", "--data-dir", str(tmp_path / "a"), token["id"])
    assert revoked["id"] == token["id"] and revoked["revokedAt"] is not None
    # the server's own admin token set in this environment: nobody is locked out, nothing to say
    env = {"WIDGET_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN, "WIDGET_MONITOR_DATA_DIR": str(tmp_path / "b")}
    key = cli("keys", "create", "--customer-id", "acme", env=env)  # --data-dir from the environment
    assert key.returncode == 0 and key.stderr == ""
    assert [k["customerId"] for k in cli_json("keys", "list", "--data-dir", str(tmp_path / "b"))] == ["acme"]


def test_no_key_or_token_reaches_the_log(data_dir: Path) -> None:
    env = {"WIDGET_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN}
    key = cli_json("keys", "create", "--data-dir", str(data_dir), "--customer-id", "acme")["key"]
    with ServerProcess(data_dir, env=env, args=("--log-level", "info", "--access-log")) as server:
        body = {"type": "render", "metric": {"renderTime": 3}}
        assert httpx.post(f"{server.url}{WIDGET}?key={key}", json=body).status_code == 200
        assert httpx.post(f"{server.url}{WIDGET}?x=1&key={key}", json=body).status_code == 200
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert httpx.get(f"{server.url}/api/monitoring/whoami", headers=admin).status_code == 200
    log = server.log_path.read_text()
    assert f"{WIDGET}?key=[redacted]" in log and f"{WIDGET}?x=1&key=[redacted]" in log
    secret = key.split("_", 2)[2]
    assert secret not in log and ADMIN_TOKEN not in log


def test_the_data_dir_is_private(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    os.chmod(data_dir, 0o755)
    (data_dir / "old.parquet").write_bytes(b"x")
    os.chmod(data_dir / "old.parquet", 0o644)
    with ServerProcess(data_dir) as server:
        yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()  # a closed day, within retention
        body = [{"type": "render", "metric": {"renderTime": 3, "timestamp": yesterday}}]
        assert httpx.post(server.url + WIDGET, json=body).status_code == 200
        assert httpx.post(server.url + "/api/monitoring/lake/export", json={}).status_code == 200
    modes = {
        str(path.relative_to(data_dir)): stat.S_IMODE(path.stat().st_mode)
        for path in [data_dir, *data_dir.rglob("*")]
    }
    assert modes["."] == 0o700
    files = {name: mode for name, mode in modes.items() if (data_dir / name).is_file()}
    assert "access.sqlite3" in files and any(
        name.endswith(".parquet") and name != "old.parquet" for name in files
    )
    assert {name: mode for name, mode in files.items() if mode != 0o600} == {}
    assert {name: mode for name, mode in modes.items() if (data_dir / name).is_dir() and mode != 0o700} == {}


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded"])
def test_a_proxy_in_front_of_an_open_server_hands_out_nothing(data_dir: Path, header: str) -> None:
    with ServerProcess(data_dir) as server:
        proxied = {header: "for=203.0.113.7" if header == "Forwarded" else "203.0.113.7"}
        answer = httpx.put(
            server.url + "/api/monitoring/alerts/config",
            json={"enabled": False, "channels": []},
            headers=proxied,
        )
        assert answer.status_code == 403
        assert httpx.get(server.url + "/api/monitoring/alerts/config").json()["enabled"] is True
