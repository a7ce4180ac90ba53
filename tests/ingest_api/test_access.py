"""Access control over HTTP: open mode, tokens and roles, customer scope, ingest keys, CSRF and Host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.server import LOCAL

WIDGET = "/api/monitoring/widget"
ALERTS = "/api/monitoring/alerts"
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def render(ms: float, customer: str | None = None, **extra: Any) -> dict[str, Any]:
    metric: dict[str, Any] = {"renderTime": ms, **extra}
    if customer is not None:
        metric["customerId"] = customer
    return {"type": "render", "metric": metric}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def secured(settings: Settings) -> Iterator[TestClient]:
    """A server with WIDGET_MONITOR_ADMIN_TOKEN set: every route needs a credential."""
    with TestClient(
        base_url=LOCAL, app=create_app(settings.model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN)}))
    ) as client:
        yield client


def new_token(client: TestClient, role: str, customer: str | None = None, name: str | None = None) -> str:
    body = {"name": name or f"{role}-{customer or 'all'}", "role": role, "customerId": customer}
    answer = client.post("/api/monitoring/tokens", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def new_key(client: TestClient, customer: str, origins: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"customerId": customer}
    if origins is not None:
        body["allowedOrigins"] = origins
    answer = client.post("/api/monitoring/keys", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


# -- open mode ------------------------------------------------------------------------------
def test_open_mode_acts_as_admin_on_loopback(client: TestClient) -> None:
    assert client.get("/api/monitoring/whoami").json() == {
        "name": "open-mode",
        "role": "admin",
        "customerId": None,
        "openMode": True,
    }
    assert client.post(WIDGET, json=render(5.0, "acme")).status_code == 200
    assert client.get("/api/monitoring/alerts/config").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"X-Forwarded-For": "203.0.113.9"}, id="x-forwarded-for"),
        pytest.param({"Forwarded": "for=203.0.113.9;proto=https"}, id="forwarded"),
        # Regression (review): a proxy that sets only one of these got admin rights.
        pytest.param({"X-Real-IP": "203.0.113.9"}, id="x-real-ip"),
        pytest.param({"X-Forwarded-Proto": "https"}, id="x-forwarded-proto"),
        pytest.param({"Via": "1.1 proxy"}, id="via"),
        pytest.param({"CF-Connecting-IP": "203.0.113.9"}, id="cf-connecting-ip"),
    ],
)
def test_open_mode_refuses_requests_through_a_proxy(client: TestClient, header: dict[str, str]) -> None:
    for answer in (
        client.get("/api/monitoring/widget/dimensions", headers=header),
        client.put(f"{ALERTS}/config", json={"enabled": False, "channels": []}, headers=header),
        client.post(WIDGET, json=render(5.0), headers=header),
    ):
        assert answer.status_code == 403
        assert "WIDGET_MONITOR_ADMIN_TOKEN" in answer.json()["message"]
    assert client.get(f"{ALERTS}/config").json()["enabled"] is True  # nothing changed


def test_open_mode_ends_once_any_credential_exists(client: TestClient) -> None:
    made = client.post("/api/monitoring/tokens", json={"name": "ops", "role": "admin"})
    assert made.status_code == 201
    assert client.get("/api/monitoring/widget/dimensions").status_code == 401
    assert client.post(WIDGET, json=render(5.0)).status_code == 401
    token = made.json()["token"]
    assert client.get("/api/monitoring/whoami", headers=bearer(token)).json()["openMode"] is False


def test_open_mode_needs_a_loopback_bind(settings: Settings) -> None:
    wide = settings.model_copy(update={"host": "0.0.0.0"})
    with TestClient(base_url=LOCAL, app=create_app(wide)) as client:
        assert client.get("/api/monitoring/widget/dimensions").status_code == 401


# -- credentials and roles ------------------------------------------------------------------
def test_no_or_bad_credential_is_401(secured: TestClient) -> None:
    missing = secured.get("/api/monitoring/widget/dimensions")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for header in (bearer("wmt_0123456789ab_nope"), bearer("nonsense"), {"Authorization": "Basic YTpi"}):
        assert secured.get("/api/monitoring/widget/dimensions", headers=header).status_code == 401
    assert secured.get("/api/monitoring/widget/dimensions", headers=ADMIN).status_code == 200


def test_healthz_is_public_and_says_only_that_the_server_is_up(secured: TestClient) -> None:
    assert secured.get("/healthz").json() == {"status": "ok"}
    detailed = secured.get("/healthz", headers=ADMIN).json()
    assert detailed["status"] == "ok" and "eventsCommitted" in detailed
    assert secured.get("/openapi.json").status_code == 200
    assert secured.get("/docs").status_code == 200


# (method, path, body, the least role that may) — every route but ingest and the public ones.
ROUTES = [
    ("GET", WIDGET, None, "viewer"),
    ("GET", "/api/monitoring/widget/timeseries?metric=render.renderTime", None, "viewer"),
    ("GET", "/api/monitoring/widget/timeseries/metrics", None, "viewer"),
    ("GET", "/api/monitoring/widget/samples?metric=render.renderTime", None, "viewer"),
    ("GET", "/api/monitoring/widget/dimensions", None, "viewer"),
    ("GET", ALERTS, None, "viewer"),
    ("GET", "/api/monitoring/baseline", None, "viewer"),
    ("GET", "/api/monitoring/lake", None, "viewer"),
    ("GET", "/api/monitoring/whoami", None, "viewer"),
    ("POST", f"{ALERTS}/check", {}, "editor"),
    ("POST", "/api/monitoring/baseline", {}, "editor"),
    ("GET", f"{ALERTS}/config", None, "admin"),
    ("PUT", f"{ALERTS}/config", {}, "admin"),
    ("POST", "/api/monitoring/lake/export", {}, "admin"),
    ("GET", "/api/monitoring/keys", None, "admin"),
    ("POST", "/api/monitoring/keys", {"customerId": "acme"}, "admin"),
    ("GET", "/api/monitoring/tokens", None, "admin"),
    ("POST", "/api/monitoring/tokens", {"name": "x", "role": "viewer"}, "admin"),
    ("GET", "/api/monitoring/audit", None, "admin"),
]
LEVEL = {"viewer": 1, "editor": 2, "admin": 3}


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_each_role_may_do_what_its_level_allows_and_nothing_more(secured: TestClient, role: str) -> None:
    headers = bearer(new_token(secured, role))
    outcomes = {}
    for method, path, body, least in ROUTES:
        answer = secured.request(method, path, json=body, headers=headers)
        outcomes[(method, path)] = answer.status_code
        if LEVEL[role] >= LEVEL[least]:
            assert answer.status_code < 400, (method, path, answer.text)
        else:
            assert answer.status_code == 403, (method, path, answer.text)
            assert role in answer.json()["message"]
    assert len(outcomes) == len(ROUTES)


def test_alert_actions_need_an_editor_and_record_the_token_name(secured: TestClient) -> None:
    assert secured.post(WIDGET, json=[render(40.0)] * 20, headers=ADMIN).status_code == 200
    fired = secured.post(f"{ALERTS}/check", json={}, headers=ADMIN).json()["data"]
    alert_id = next(a["id"] for a in fired if a["ruleId"] == "render.message_time")
    viewer, editor = bearer(new_token(secured, "viewer")), bearer(new_token(secured, "editor", name="dana"))
    assert secured.post(f"{ALERTS}/{alert_id}/acknowledge", json={}, headers=viewer).status_code == 403
    resolved = secured.post(
        f"{ALERTS}/{alert_id}/resolve", json={"by": "mallory", "note": "deployed the fix"}, headers=editor
    )
    assert resolved.status_code == 200
    assert resolved.json()["resolvedBy"] == "dana"  # the credential names the actor, not the body
    steps = secured.get(f"{ALERTS}/{alert_id}/history", headers=viewer).json()["data"]
    last = steps[-1]
    assert (last["by"], last["note"]) == ("dana", "by: mallory; deployed the fix")


def test_in_open_mode_by_names_the_actor(client: TestClient) -> None:
    assert client.post(WIDGET, json=[render(40.0)] * 20).status_code == 200
    alert_id = client.post(f"{ALERTS}/check", json={}).json()["fired"][0]
    answer = client.post(f"{ALERTS}/{alert_id}/resolve", json={"by": "ann@example.com"})
    assert answer.json()["resolvedBy"] == "ann@example.com"


# -- customer scope -------------------------------------------------------------------------
@pytest.fixture
def two_customers(secured: TestClient) -> TestClient:
    events = [render(4.0, "acme")] * 3 + [render(40.0, "globex")] * 20 + [render(8.0)] * 2
    assert secured.post(WIDGET, json=events, headers=ADMIN).status_code == 200
    return secured


def test_a_scoped_token_reads_its_own_customer_only(two_customers: TestClient) -> None:
    client = two_customers
    acme = bearer(new_token(client, "viewer", "acme"))
    dims = client.get("/api/monitoring/widget/dimensions", headers=acme).json()
    assert dims["events"] == 3 and [c["id"] for c in dims["customers"]] == ["acme"]
    summary = client.get(WIDGET, headers=acme).json()
    assert summary["performance"]["renders"]["count"] == 3
    assert summary["performance"]["renders"]["p95Time"] == pytest.approx(4.0)
    samples = client.get("/api/monitoring/widget/samples?metric=render.renderTime", headers=acme).json()
    assert sorted(samples["values"]) == [4.0, 4.0, 4.0]
    series = client.get(
        "/api/monitoring/widget/timeseries",
        params={"metric": "render.renderTime", "stat": "count", "groupBy": "customerId"},
        headers=acme,
    ).json()
    assert series["groups"] == ["acme"]
    assert sum(p["value"] for p in series["points"]) == 3
    for path in (WIDGET, "/api/monitoring/widget/dimensions", "/api/monitoring/widget/samples?metric=x"):
        sep = "&" if "?" in path else "?"
        assert client.get(f"{path}{sep}customerId=globex", headers=acme).status_code == 403


def test_the_summary_cache_never_serves_one_scope_to_another(settings: Settings) -> None:
    cached = settings.model_copy(
        update={"admin_token": SecretStr(ADMIN_TOKEN), "summary_cache_seconds": 30.0}
    )
    with TestClient(base_url=LOCAL, app=create_app(cached)) as client:
        events = [render(4.0, "acme")] * 3 + [render(40.0, "globex")] * 5
        assert client.post(WIDGET, json=events, headers=ADMIN).status_code == 200
        everyone = client.get(WIDGET, headers=ADMIN).json()
        assert everyone["performance"]["renders"]["count"] == 8
        acme = client.get(WIDGET, headers=bearer(new_token(client, "viewer", "acme")))
        assert acme.headers["x-cache"] == "MISS"
        assert acme.json()["performance"]["renders"]["count"] == 3


def test_a_scoped_token_sees_its_own_alerts_and_baselines_only(two_customers: TestClient) -> None:
    client = two_customers
    config = client.get(f"{ALERTS}/config", headers=ADMIN).json()
    assert (
        client.put(f"{ALERTS}/config", json={**config, "perCustomer": True}, headers=ADMIN).status_code == 200
    )
    assert client.post(WIDGET, json=[render(40.0, "acme")] * 20, headers=ADMIN).status_code == 200
    fired = client.post(f"{ALERTS}/check", json={}, headers=ADMIN).json()["data"]
    scopes = {a["customerId"] for a in fired}
    assert {"acme", "globex", None} <= scopes
    acme = bearer(new_token(client, "editor", "acme"))
    listed = client.get(ALERTS, headers=acme).json()["data"]
    assert listed and {a["customerId"] for a in listed} == {"acme"}
    summary_alerts = client.get(WIDGET, headers=acme).json()["alerts"]["active"]
    assert {a["customerId"] for a in summary_alerts} == {"acme"}
    foreign = next(a["id"] for a in fired if a["customerId"] == "globex")
    hidden = client.get(f"{ALERTS}/{foreign}", headers=acme)
    assert hidden.status_code == 404  # and worded as for an id that does not exist (no oracle)
    assert hidden.json()["message"] == f"no alert with id {foreign!r}"
    assert client.get("/healthz", headers=acme).json() == {"status": "ok"}  # server-wide figures
    assert client.post(f"{ALERTS}/{foreign}/resolve", json={}, headers=acme).status_code == 404
    assert client.get(f"{ALERTS}/{foreign}", headers=ADMIN).json()["status"] != "resolved"
    for method, path in (
        ("POST", f"{ALERTS}/check"),
        ("GET", f"{ALERTS}/config"),
        ("GET", "/api/monitoring/lake"),
    ):
        assert client.request(method, path, json={}, headers=acme).status_code == 403
    captured = client.post("/api/monitoring/baseline", json={"customerId": "globex"}, headers=acme)
    assert captured.status_code == 403
    captured = client.post("/api/monitoring/baseline", json={}, headers=acme)
    assert captured.status_code == 201 and captured.json()["customerId"] == "acme"
    assert client.get("/api/monitoring/baseline", headers=acme).json()["customerId"] == "acme"


# -- ingest keys ----------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["query", "header"])
def test_an_ingest_key_posts_for_its_own_customer(secured: TestClient, how: str) -> None:
    key = new_key(secured, "acme")
    assert key["key"].startswith("wmk_") and key["customerId"] == "acme"
    params = {"key": key["key"]} if how == "query" else {}
    headers = {"X-Widget-Monitor-Key": key["key"]} if how == "header" else {}
    body = [render(5.0), render(6.0, "acme"), render(7.0, "globex", dataLoss=True)]
    answer = secured.post(WIDGET, params=params, headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert reply["stored"] == 2
    assert reply["rejected"] == [
        {
            "index": 2,
            "path": "$[2].metric.customerId",
            "message": "customerId 'globex' is not this key's customer 'acme'",
        }
    ]
    dims = secured.get("/api/monitoring/widget/dimensions", headers=ADMIN).json()
    assert dims["customers"] == [{"id": "acme", "events": 2}]


def test_ingest_without_a_valid_key_is_401_and_stores_nothing(secured: TestClient) -> None:
    for params in ({}, {"key": "wmk_0123456789ab_wrong"}, {"key": "garbage"}):
        assert secured.post(WIDGET, params=params, json=render(5.0)).status_code == 401
    viewer = bearer(new_token(secured, "viewer"))
    assert secured.post(WIDGET, json=render(5.0), headers=viewer).status_code == 403
    assert secured.get("/api/monitoring/widget/dimensions", headers=ADMIN).json()["events"] == 0


def test_an_admin_token_may_post_for_any_customer(secured: TestClient) -> None:
    answer = secured.post(WIDGET, json=[render(5.0, "acme"), render(6.0, "globex")], headers=ADMIN)
    assert answer.json()["stored"] == 2


def test_a_key_with_origins_refuses_other_browsers(secured: TestClient) -> None:
    key = new_key(secured, "acme", ["https://Shop.example", "https://www.shop.example:8443"])
    assert key["allowedOrigins"] == ["https://shop.example", "https://www.shop.example:8443"]
    url = f"{WIDGET}?key={key['key']}"
    beacon = {"Content-Type": "text/plain;charset=UTF-8"}
    body = json.dumps(render(5.0))
    assert (
        secured.post(url, content=body, headers={**beacon, "Origin": "https://shop.example"}).status_code
        == 200
    )
    wrong = secured.post(url, content=body, headers={**beacon, "Origin": "https://evil.example"})
    assert wrong.status_code == 403
    assert wrong.headers["access-control-allow-origin"] == "*"  # the SDK can read why
    assert secured.post(url, content=body, headers=beacon).status_code == 200  # a server-side sender


def test_revocation_is_immediate_and_rotation_keeps_both_keys_until_then(secured: TestClient) -> None:
    first, second = new_key(secured, "acme"), new_key(secured, "acme")
    for key in (first, second):
        assert secured.post(WIDGET, params={"key": key["key"]}, json=render(5.0)).status_code == 200
    revoked = secured.delete(f"/api/monitoring/keys/{first['id']}", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json()["revokedAt"] is not None
    assert secured.post(WIDGET, params={"key": first["key"]}, json=render(5.0)).status_code == 401
    assert secured.post(WIDGET, params={"key": second["key"]}, json=render(5.0)).status_code == 200
    listed = secured.get("/api/monitoring/keys", headers=ADMIN).json()["data"]
    assert [(k["id"], k["revokedAt"] is None) for k in listed] == [(first["id"], False), (second["id"], True)]
    assert all("key" not in k for k in listed)
    assert secured.delete(f"/api/monitoring/keys/{first['id']}", headers=ADMIN).status_code == 404


def test_a_revoked_token_is_401_at_once(secured: TestClient) -> None:
    made = secured.post(
        "/api/monitoring/tokens", json={"name": "wall", "role": "viewer"}, headers=ADMIN
    ).json()
    assert secured.get(WIDGET, headers=bearer(made["token"])).status_code == 200
    assert secured.delete(f"/api/monitoring/tokens/{made['id']}", headers=ADMIN).status_code == 200
    assert secured.get(WIDGET, headers=bearer(made["token"])).status_code == 401


def test_no_token_may_take_the_environment_admin_s_name(secured: TestClient) -> None:
    """The audit log records WIDGET_MONITOR_ADMIN_TOKEN's actions as `admin`: a token of that name
    would make them indistinguishable."""
    for name in ("admin", "Admin"):
        made = secured.post("/api/monitoring/tokens", json={"name": name, "role": "viewer"}, headers=ADMIN)
        assert made.status_code == 422 and "environment's admin token" in made.json()["message"]
    assert secured.post(
        "/api/monitoring/tokens", json={"name": "admin-2", "role": "admin"}, headers=ADMIN
    ).status_code in (200, 201)


def test_keys_and_tokens_are_stored_hashed_in_a_file_of_their_own(
    secured: TestClient, settings: Settings
) -> None:
    key, token = new_key(secured, "acme")["key"], new_token(secured, "viewer")
    stored = (settings.data_dir / "access.sqlite3").read_bytes()
    for secret in (key, token, key.split("_", 2)[2], token.split("_", 2)[2]):
        assert secret.encode() not in stored
    assert b"acme" in stored  # the right file: it does hold the key's record


def test_every_change_to_credentials_and_config_is_audited(secured: TestClient) -> None:
    key = new_key(secured, "acme")
    ops = new_token(secured, "admin", name="ops")
    secured.delete(f"/api/monitoring/keys/{key['id']}", headers=ADMIN)
    config = secured.get(f"{ALERTS}/config", headers=ADMIN).json()
    assert (
        secured.put(f"{ALERTS}/config", json={**config, "enabled": False}, headers=bearer(ops)).status_code
        == 200
    )
    entries = secured.get("/api/monitoring/audit", headers=ADMIN).json()["data"]
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("ops", "alerts.config"),
        ("admin", "key.revoke"),
        ("admin", "token.create"),
        ("admin", "key.create"),
    ]
    assert entries[0]["detail"]["enabled"] is False
    assert all(e["at"].endswith("Z") for e in entries)
    assert ops not in json.dumps(entries) and key["key"] not in json.dumps(entries)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/api/monitoring/keys", {"customerId": "acme\r\nforged"}, id="key-customer-crlf"),
        pytest.param(
            "/api/monitoring/keys", {"customerId": "acme", "allowedOrigins": ["*"]}, id="origin-star"
        ),
        pytest.param(
            "/api/monitoring/keys",
            {"customerId": "a", "allowedOrigins": ["https://a.example/path"]},
            id="path",
        ),
        pytest.param(
            "/api/monitoring/keys", {"customerId": "a", "allowedOrigins": ["http://[::1"]}, id="bad-ipv6"
        ),
        pytest.param(
            "/api/monitoring/keys", {"customerId": "a", "allowedOrigins": ["http://a:99999"]}, id="bad-port"
        ),
        pytest.param("/api/monitoring/tokens", {"name": "x\u2028y", "role": "viewer"}, id="token-name-u2028"),
        pytest.param("/api/monitoring/tokens", {"name": "x", "role": "root"}, id="unknown-role"),
        pytest.param("/api/monitoring/tokens", {"name": "", "role": "viewer"}, id="empty-name"),
    ],
)
def test_bad_credential_requests_are_422(secured: TestClient, path: str, body: dict[str, Any]) -> None:
    answer = secured.post(path, json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert secured.get(path, headers=ADMIN).json()["count"] == 0


def test_an_actor_note_with_a_line_break_is_422(client: TestClient) -> None:
    assert client.post(WIDGET, json=[render(40.0)] * 20).status_code == 200
    alert_id = client.post(f"{ALERTS}/check", json={}).json()["fired"][0]
    answer = client.post(f"{ALERTS}/{alert_id}/resolve", json={"by": "ann\r\n2026-01-01 INFO forged"})
    assert answer.status_code == 422
    assert client.get(f"{ALERTS}/{alert_id}").json()["status"] != "resolved"


# -- CSRF and Host --------------------------------------------------------------------------
def test_a_form_post_from_a_foreign_page_changes_nothing_even_in_open_mode(client: TestClient) -> None:
    assert client.post(WIDGET, json=[render(40.0)] * 20).status_code == 200
    alert_id = client.post(f"{ALERTS}/check", json={}).json()["fired"][0]
    foreign = {"Origin": "https://evil.example"}
    form = client.post(f"{ALERTS}/{alert_id}/resolve", data={"by": "x"}, headers=foreign)
    assert form.status_code == 415
    plain = client.post(
        f"{ALERTS}/{alert_id}/resolve", content=b"{}", headers={**foreign, "Content-Type": "text/plain"}
    )
    assert plain.status_code == 415
    bare = client.post(f"{ALERTS}/check", headers=foreign)  # no body, no Content-Type: also a simple request
    assert bare.status_code == 415
    config = client.put(
        f"{ALERTS}/config", content=b'{"enabled": false}', headers={**foreign, "Content-Type": "text/plain"}
    )
    assert config.status_code == 415
    assert client.get(f"{ALERTS}/{alert_id}").json()["status"] == "firing"
    assert client.get(f"{ALERTS}/config").json()["enabled"] is True


def test_open_mode_answers_loopback_host_names_only(client: TestClient) -> None:
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert client.get("/api/monitoring/widget/dimensions", headers={"Host": host}).status_code == 200
    rebound = client.get("/api/monitoring/widget/dimensions", headers={"Host": "attacker.example"})
    assert rebound.status_code == 421


def test_allowed_hosts_apply_with_credentials_too(settings: Settings) -> None:
    listed = settings.model_copy(
        update={"admin_token": SecretStr(ADMIN_TOKEN), "allowed_hosts": ["monitor.example.com"]}
    )
    with TestClient(base_url="http://monitor.example.com", app=create_app(listed)) as client:
        assert client.get("/api/monitoring/widget/dimensions", headers=ADMIN).status_code == 200
        other = client.get("/api/monitoring/widget/dimensions", headers={**ADMIN, "Host": "other.example"})
        assert other.status_code == 421


def test_an_ingest_key_posts_recent_events_only_and_an_admin_backfills(secured: TestClient) -> None:
    from datetime import UTC, datetime, timedelta

    key = new_key(secured, "acme")["key"]
    now = datetime.now(UTC)

    def at(days: float) -> dict[str, Any]:
        return render(5.0, timestamp=(now - timedelta(days=days)).isoformat().replace("+00:00", "Z"))

    answer = secured.post(WIDGET, params={"key": key}, json=[at(6.9), at(7.1), at(365 * 30)])
    assert answer.status_code == 200
    assert answer.json()["stored"] == 1
    assert [(r["index"], r["path"]) for r in answer.json()["rejected"]] == [
        (1, "$[1].metric.timestamp"),
        (2, "$[2].metric.timestamp"),
    ]
    assert "more than 7 days old" in answer.json()["rejected"][0]["message"]
    backfill = secured.post(WIDGET, json=[at(7.1), at(365 * 30)], headers=ADMIN)
    assert backfill.json()["stored"] == 1  # 30 years back is before 2000, for anyone
    assert backfill.json()["rejected"][0]["message"] == "timestamp is before 2000-01-01"


def test_every_route_caps_its_request_body(client: TestClient) -> None:
    # Regression: PUT /alerts/config accepted a 5 MB body.
    huge = json.dumps({"enabled": True, "padding": "x" * 5_000_000})
    answer = client.put(f"{ALERTS}/config", content=huge, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert "262144" in answer.json()["message"]
    chunked = client.put(
        f"{ALERTS}/config",
        content=iter([huge[i : i + 65536].encode() for i in range(0, len(huge), 65536)]),
        headers={"Content-Type": "application/json"},
    )
    assert chunked.status_code == 413
    assert client.get(f"{ALERTS}/config").json()["enabled"] is True
    small = client.put(f"{ALERTS}/config", json={"enabled": False})
    assert small.status_code == 200 and small.json()["enabled"] is False


# -- rate limits ----------------------------------------------------------------------------
def test_a_key_over_its_requests_per_second_gets_429_and_nothing_is_stored(secured: TestClient) -> None:
    made = secured.post(
        "/api/monitoring/keys",
        json={"customerId": "acme", "rateLimit": {"requestsPerSecond": 2, "eventsPerSecond": 1000}},
        headers=ADMIN,
    ).json()
    assert made["rateLimit"] == {"requestsPerSecond": 2, "eventsPerSecond": 1000}
    post = [secured.post(WIDGET, params={"key": made["key"]}, json=render(5.0)) for _ in range(3)]
    assert [a.status_code for a in post] == [200, 200, 429]  # a full bucket holds one second: 2
    assert post[2].headers["retry-after"] == "1"
    assert post[2].json()["error"] == "rate_limited"
    dims = secured.get("/api/monitoring/widget/dimensions", headers=ADMIN).json()
    assert dims["events"] == 2
    listed = secured.get("/api/monitoring/keys", headers=ADMIN).json()["data"][0]
    assert listed["usage"] == {
        "requests": 3,
        "eventsAccepted": 2,
        "eventsRejected": 0,
        "throttled": 1,
        "rejectedBy": {"invalid": 0, "too_old": 0, "wrong_customer": 0},
        "throttledBy": {"requests": 1, "events": 0},
        "originRefused": 0,
    }


def test_a_key_over_its_events_per_second_gets_429_for_the_whole_batch(secured: TestClient) -> None:
    key = secured.post(
        "/api/monitoring/keys",
        json={"customerId": "acme", "rateLimit": {"eventsPerSecond": 10}},
        headers=ADMIN,
    ).json()
    first = secured.post(WIDGET, params={"key": key["key"]}, json=[render(1.0)] * 8)
    assert first.status_code == 200 and first.json()["stored"] == 8
    second = secured.post(WIDGET, params={"key": key["key"]}, json=[render(2.0)] * 8)
    assert second.status_code == 429  # 2 tokens left of 10: none of the 8 is stored
    assert int(second.headers["retry-after"]) == 1  # 6 more tokens come in 0.6 s
    assert secured.get("/api/monitoring/widget/dimensions", headers=ADMIN).json()["events"] == 8


def test_a_keys_limits_change_at_once_without_rotation(secured: TestClient) -> None:
    key = secured.post(
        "/api/monitoring/keys",
        json={"customerId": "acme", "rateLimit": {"requestsPerSecond": 1}},
        headers=ADMIN,
    ).json()
    assert secured.post(WIDGET, params={"key": key["key"]}, json=render(1.0)).status_code == 200
    assert secured.post(WIDGET, params={"key": key["key"]}, json=render(1.0)).status_code == 429
    changed = secured.patch(
        f"/api/monitoring/keys/{key['id']}", json={"rateLimit": {"requestsPerSecond": 100}}, headers=ADMIN
    )
    assert changed.status_code == 200 and changed.json()["rateLimit"]["requestsPerSecond"] == 100
    assert secured.post(WIDGET, params={"key": key["key"]}, json=render(1.0)).status_code == 200
    assert secured.get("/api/monitoring/audit", headers=ADMIN).json()["data"][0]["action"] == "key.limits"


@pytest.mark.parametrize(
    "limit",
    [{"requestsPerSecond": 0}, {"eventsPerSecond": -5}, {"requestsPerSecond": "fast"}],
    ids=["zero", "negative", "text"],
)
def test_bad_rate_limits_are_422(secured: TestClient, limit: dict[str, Any]) -> None:
    answer = secured.post(
        "/api/monitoring/keys", json={"customerId": "acme", "rateLimit": limit}, headers=ADMIN
    )
    assert answer.status_code == 422


def test_keys_get_generous_defaults(secured: TestClient) -> None:
    key = new_key(secured, "acme")
    assert key["rateLimit"] == {"requestsPerSecond": 500.0, "eventsPerSecond": 50000.0}
    answers = [secured.post(WIDGET, params={"key": key["key"]}, json=[render(1.0)] * 100) for _ in range(20)]
    assert {a.status_code for a in answers} == {200}
