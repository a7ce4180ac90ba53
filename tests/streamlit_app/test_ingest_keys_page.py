"""The Ingest keys page (AppTest) against a real API: each key's counters as its senders made them.

Every number expected here is counted from what the fixture posts, by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from streamlit_app.text import literal
from tests.streamlit_app.conftest import NO_CACHE
from tests.support.dashboard import bearer, create_token, run_app
from tests.support.server import ServerProcess

PAGE = "app_pages/ingest_keys.py"
ADMIN_TOKEN = "keys-page-test-admin-token-0123456789abcdef"
# The customer of the key that leaked: a Markdown link, as a careless or hostile admin typed it.
HOSTILE = "[Sign in](https://evil.example/login)"


@dataclass(frozen=True, slots=True)
class KeysApi:
    url: str
    keys: dict[str, str]  # role in the test -> key id
    tokens: dict[str, str]  # name -> secret


def _render(ms: float, customer: str | None = None) -> dict[str, Any]:
    metric: dict[str, Any] = {"renderTime": ms}
    if customer is not None:
        metric["customerId"] = customer
    return {"type": "render", "metric": metric}


@pytest.fixture(scope="module")
def keys_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeysApi]:
    """Four keys: a steady one, a leaked one, a throttled one and a revoked one, and what each sent."""
    root = tmp_path_factory.mktemp("keys-page")
    # No decoder process: bodies are small, and the server starts sooner.
    env = {**NO_CACHE, "WIDGET_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN, "WIDGET_MONITOR_DECODER_PROCESSES": "0"}
    with (
        ServerProcess(root / "data", env=env) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):

        def key(customer: str, **body: Any) -> tuple[str, str]:
            made = http.post(
                "/api/monitoring/keys", json={"customerId": customer, **body}, headers=bearer(ADMIN_TOKEN)
            )
            assert made.status_code == 201, made.text
            return made.json()["key"], made.json()["id"]

        def post(secret: str, events: Any, origin: str | None = None) -> int:
            headers = {"Origin": origin} if origin else {}
            return http.post(
                "/api/monitoring/widget", params={"key": secret}, json=events, headers=headers
            ).status_code

        steady, steady_id = key("acme")
        assert post(steady, [_render(float(i)) for i in range(5)]) == 200  # 5 accepted
        leaky, leaky_id = key(HOSTILE, allowedOrigins=["https://shop.example"])
        mixed = [
            _render(1.0),
            _render(2.0),
            *[_render(3.0, "globex")] * 3,
            _render(-1.0) | {"type": "teleport"},
        ]
        assert post(leaky, mixed, "https://shop.example") == 200  # 2 accepted, 3 wrong customer, 1 invalid
        assert post(leaky, [_render(1.0)], "https://copycat.example") == 403  # copied onto another site
        slow, slow_id = key("acme", rateLimit={"requestsPerSecond": 0.01})  # one request per 100 s
        assert [post(slow, _render(1.0)) for _ in range(2)] == [200, 429]
        _, revoked_id = key("acme")
        assert (
            http.delete(f"/api/monitoring/keys/{revoked_id}", headers=bearer(ADMIN_TOKEN)).status_code == 200
        )
        tokens = {
            "viewer-all": create_token(server.url, ADMIN_TOKEN, "viewer-all", "viewer"),
            "admin-acme": create_token(server.url, ADMIN_TOKEN, "admin-acme", "admin", "acme"),
        }
        ids = {"steady": steady_id, "leaky": leaky_id, "slow": slow_id, "revoked": revoked_id}
        yield KeysApi(server.url, ids, tokens)


def _on_keys_page(at: AppTest) -> AppTest:
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Ingest keys"]
    return at


def _chart_totals(at: AppTest) -> list[dict[tuple[str, str], int]]:
    """Each chart's data as {(key id, outcome): count}, read from what Streamlit sends the browser."""
    totals = []
    for chart in at.get("vega_lite_chart"):
        [dataset] = chart.proto.datasets
        frame = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
        totals.append({(r.key.split(" · ")[0], r.outcome): int(r["count"]) for _, r in frame.iterrows()})
    return totals


def test_an_admin_sees_each_keys_counters_as_they_were_made(
    keys_api: KeysApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _on_keys_page(run_app(keys_api.url, ADMIN_TOKEN, monkeypatch))
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"Active keys": "3", "Events accepted": "8", "Events rejected": "4", "429 answers": "1"}

    table = at.dataframe[0].value.set_index("key")
    columns = ["status", "requests", "accepted", "rejected", "wrong customer", "invalid", "429", "403 origin"]
    k = keys_api.keys
    assert table.loc[:, columns].to_dict("index") == {
        k["steady"]: dict(zip(columns, ["active", 1, 5, 0, 0, 0, 0, 0], strict=True)),
        k["leaky"]: dict(zip(columns, ["active", 1, 2, 4, 3, 1, 0, 1], strict=True)),
        k["slow"]: dict(zip(columns, ["active", 2, 1, 0, 0, 0, 1, 0], strict=True)),
        k["revoked"]: dict(zip(columns, ["revoked", 0, 0, 0, 0, 0, 0, 0], strict=True)),
    }
    assert table.loc[k["leaky"], "customer"] == HOSTILE  # a table cell is plain text
    assert table.loc[k["leaky"], "rejected %"] == pytest.approx(100 * 4 / 6, abs=0.05)
    assert table.loc[k["slow"], "429 %"] == 50.0

    events, requests = _chart_totals(at)
    assert events == {
        (k["steady"], "accepted"): 5,
        (k["steady"], "rejected: invalid"): 0,
        (k["steady"], "rejected: too old"): 0,
        (k["steady"], "rejected: wrong customer"): 0,
        (k["leaky"], "accepted"): 2,
        (k["leaky"], "rejected: invalid"): 1,
        (k["leaky"], "rejected: too old"): 0,
        (k["leaky"], "rejected: wrong customer"): 3,
        (k["slow"], "accepted"): 1,
        (k["slow"], "rejected: invalid"): 0,
        (k["slow"], "rejected: too old"): 0,
        (k["slow"], "rejected: wrong customer"): 0,
    }  # the revoked key sent nothing: no bar
    assert {key: n for key, n in requests.items() if n} == {
        (k["steady"], "answered"): 1,
        (k["leaky"], "answered"): 1,
        (k["leaky"], "403: origin not allowed"): 1,
        (k["slow"], "answered"): 1,
        (k["slow"], "429: requests/s"): 1,
    }

    [warning] = at.warning
    assert literal(HOSTILE) in warning.value  # the customer as text, no live link
    assert "events named another customer" in warning.value
    assert "requests from an origin it does not allow" in warning.value
    assert k["slow"] in warning.value and k["steady"] not in warning.value


@pytest.mark.parametrize("token", ["viewer-all", "admin-acme"])
def test_a_token_that_may_not_list_keys_is_not_offered_the_page(
    keys_api: KeysApi, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    at = run_app(keys_api.url, keys_api.tokens[token], monkeypatch)
    assert [t.value for t in at.title] == ["Overview"]
    with pytest.raises(ValueError, match="ingest_keys"):  # not among the pages of its navigation
        at.switch_page(PAGE)


def test_the_sidebars_customer_narrows_the_page_to_its_keys(
    keys_api: KeysApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _on_keys_page(run_app(keys_api.url, ADMIN_TOKEN, monkeypatch))
    at.selectbox(key="customer").select(HOSTILE).run()
    assert list(at.dataframe[0].value["key"]) == [keys_api.keys["leaky"]]
    assert {m.label: m.value for m in at.metric}["Events accepted"] == "2"
