"""The dashboard's API client against a real server: answers, refusals, tokens, and a server that is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest

from streamlit_app.api_client import (
    ApiError,
    ApiUnavailable,
    MonitorClient,
    api_url_from,
    client_from_environment,
)
from tests.streamlit_app.conftest import ADMIN_TOKEN, SecuredApi
from tests.support.http_server import serving
from tests.support.server import ServerProcess, free_port


def test_api_url_comes_from_the_flag_then_the_environment_then_the_default() -> None:
    env = {"WIDGET_MONITOR_API_URL": "http://env:1"}
    assert api_url_from(["--api-url", "http://flag:2/"], env) == "http://flag:2"
    assert api_url_from(["-x", "tests"], env) == "http://env:1"
    assert api_url_from([], {}) == "http://127.0.0.1:8000"


def test_a_closed_port_is_unavailable_not_a_crash() -> None:
    client = MonitorClient(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(ApiUnavailable, match="ConnectError"):
        client.summary(60_000)


def test_reads_and_refusals_against_a_real_server(server: ServerProcess) -> None:
    client = MonitorClient(server.url)
    assert client.dimensions()["events"] == 0
    now = datetime.now(UTC)
    series = client.timeseries(
        "render.renderTime", stat=None, bucket="1h", start=now - timedelta(hours=2), end=now
    )
    assert series["stat"] == "p95" and series["points"] == []
    with pytest.raises(ApiError, match="unknown metric") as refused:
        client.timeseries("nope", stat=None, bucket="1h", start=now - timedelta(hours=1), end=now)
    assert refused.value.status == 422
    assert client.summary(300_000, fresh=True)["health"]["status"] == "no_data"
    assert "telemetry" in client.summary(300_000, fresh=True)
    assert "telemetry" not in client.summary(300_000, fresh=True, telemetry=False)


def test_a_client_with_a_token_sends_it_as_a_bearer_header(secured_api: SecuredApi) -> None:
    anonymous = MonitorClient(secured_api.url)
    with pytest.raises(ApiError) as refused:
        anonymous.dimensions()
    assert refused.value.status == 401
    admin = anonymous.with_token(ADMIN_TOKEN)
    assert admin.whoami() == {"name": "admin", "role": "admin", "customerId": None, "openMode": False}
    assert {c["id"] for c in admin.dimensions()["customers"]} == {"acme", "globex"}
    scoped = anonymous.with_token(secured_api.tokens["viewer-acme"])
    assert scoped.whoami()["customerId"] == "acme"
    assert [c["id"] for c in scoped.dimensions()["customers"]] == ["acme"]
    with pytest.raises(ApiError) as forbidden:
        scoped.resolve_alert("any", by="me")  # a viewer acts on nothing
    assert forbidden.value.status == 403
    with pytest.raises(ApiError, match="unknown or revoked") as bad:
        anonymous.with_token("not-a-token").whoami()
    assert bad.value.status == 401


def test_the_token_is_left_out_of_the_clients_repr() -> None:
    client = MonitorClient("http://127.0.0.1:1", token="s3cret-token")
    assert "s3cret-token" not in repr(client) and "s3cret-token" not in str(client)


def test_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIDGET_MONITOR_API_TOKEN", " wall-token \n")
    assert client_from_environment([]).token == "wall-token"
    monkeypatch.delenv("WIDGET_MONITOR_API_TOKEN")
    assert client_from_environment([]).token is None


class _CountingHandler(BaseHTTPRequestHandler):
    """Answers every GET with `{}` over HTTP/1.1 keep-alive; records connections and headers."""

    protocol_version = "HTTP/1.1"
    connections: ClassVar[list[tuple[str, int]]] = []
    authorizations: ClassVar[list[str | None]] = []

    def setup(self) -> None:
        super().setup()
        type(self).connections.append(self.client_address)

    def do_GET(self) -> None:
        type(self).authorizations.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_calls_share_one_kept_alive_connection_and_no_credential() -> None:
    _CountingHandler.connections, _CountingHandler.authorizations = [], []
    with serving(_CountingHandler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        anonymous = MonitorClient(url)
        signed = anonymous.with_token("tok-1")
        anonymous.health()
        signed.health()
        anonymous.health()
        MonitorClient(url).health()  # another session's client of the same API
    assert len(_CountingHandler.connections) == 1  # one TCP connection for the four calls
    # the token went with its own client's call only, never stuck to the shared one
    assert _CountingHandler.authorizations == [None, "Bearer tok-1", None, None]


def test_a_restarted_api_is_reached_again_on_the_next_call(tmp_path: Path) -> None:
    api = ServerProcess(tmp_path / "data")
    with api:
        client = MonitorClient(api.url, timeout_s=5)
        assert client.dimensions()["events"] == 0
        api.kill()  # the pooled connection dies with the process
        with pytest.raises(ApiUnavailable):
            client.dimensions()
        api.start()  # same port: the next call opens a new connection rather than failing
        assert client.dimensions()["events"] == 0
