"""POST /api/monitoring/widget over HTTP: status codes, bodies, limits, beacons, CORS, idempotency."""

from __future__ import annotations

import fcntl
import gzip
import json
import logging
import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.events import COMMON, FULL_METRICS, event, without
from tests.support.server import LOCAL, ServerProcess

URL = "/api/monitoring/widget"
MIB = 1_048_576


def rows(client: TestClient, sql: str = "SELECT * FROM events ORDER BY type") -> list[dict[str, Any]]:
    """The stored rows, read straight from the app's DuckDB store."""
    with client.app.state.runtime.store.cursor() as cur:
        result = cur.execute(sql)
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def stored_count(client: TestClient) -> int:
    return len(rows(client, "SELECT event_id FROM events"))


@pytest.fixture(
    params=[
        pytest.param(0, id="read-in-place"),
        pytest.param(1, id="read-by-decoder-process"),
    ]
)
def settings(request: pytest.FixtureRequest, data_dir: Path) -> Settings:
    """Every test here runs twice: bodies read on the event loop, and every body (however
    small) read by a decoder process, as big batches are in production."""
    return Settings(
        data_dir=data_dir, summary_cache_seconds=0, decoder_processes=request.param, decoder_min_bytes=0
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server for the tests of this module that need real sockets."""
    with ServerProcess(tmp_path_factory.mktemp("live") / "data") as running:
        yield running


# --- 200 -----------------------------------------------------------------------------------


def test_one_good_event_is_stored_and_acknowledged(client: TestClient) -> None:
    answer = client.post(URL, json=event("render", **COMMON))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "accepted": 1,
        "stored": 1,
        "duplicates": 0,
        "rejected": [],
        "clampedTimestamps": 0,
    }
    [row] = rows(client)
    assert (row["type"], row["render_time"], row["customer_id"], row["event_id"]) == (
        "render",
        12.3,
        "acme",
        "ev-1",
    )


def test_every_field_of_every_type_lands_in_its_column(client: TestClient) -> None:
    # two days back: within raw retention, and not "now" (the column holds what was sent)
    sent = (datetime.now(UTC) - timedelta(days=2)).replace(hour=3, minute=4, second=5, microsecond=678000)
    stamp = sent.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    batch = [event(kind, timestamp=stamp, sessionId="s1") for kind in FULL_METRICS]
    assert client.post(URL, json=batch).json()["stored"] == 9
    by_type = {row["type"]: row for row in rows(client)}
    assert set(by_type) == set(FULL_METRICS)
    expected_columns: dict[str, dict[str, Any]] = {
        "persistence": {
            "operation": "save",
            "success": False,
            "duration": 42.5,
            "conversation_id": "conv_456",
            "error_type": "QuotaExceededError",
            "error_message": "The quota has been exceeded.",
            "data_loss": True,
            "message_count": 10,
            "storage_type": "localStorage",
            "data_size": 8192,
        },
        "restoration": {"success": True, "duration": 152.3, "messages_restored": 8},
        "navigation": {
            "success": True,
            "data_preserved": False,
            "duration": 78.4,
            "from_page": "/pricing",
            "to_page": "/checkout",
        },
        "render": {
            "message_id": "msg_789",
            "render_time": 12.3,
            "content_length": 256,
            "has_markdown": True,
            "has_code_blocks": False,
        },
        "scroll": {
            "avg_fps": 58.2,
            "min_fps": 52.1,
            "jank_percentage": 3.2,
            "frame_count": 240,
            "scroll_height": 4800,
            "message_count": 35,
        },
        "memory": {
            "used_js_heap_size": 28_639_232,
            "total_js_heap_size": 33_554_432,
            "js_heap_size_limit": 4_294_705_152,
        },
        "tabSync": {"latency": 32.5, "success": True, "operation": "broadcast", "tab_count": 3},
        "api": {
            "endpoint": "/api/chat",
            "method": "POST",
            "duration": 285.4,
            "status": 200,
            "success": True,
            "cached": False,
        },
        "bundle": {"bundle_name": "widget.js", "bundle_size": 458_752, "load_time": 425.3, "cached": True},
    }
    for kind, columns in expected_columns.items():
        row = by_type[kind]
        assert {c: row[c] for c in columns} == columns, kind
        assert row["session_id"] == "s1"
        assert row["ts"] == sent
        assert row["ts_clamped"] is False


def test_a_batch_with_poison_pills_stores_the_good_events_and_names_the_bad(client: TestClient) -> None:
    batch = [
        event("render", renderTime=3.0),
        event("render", renderTime="3"),
        without("memory", "usedJSHeapSize"),
        event("api", timestamp="2099-01-01T00:00:00Z"),
        {"type": "clicks", "metric": {}},
    ]
    answer = client.post(URL, json=batch)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["accepted"], body["stored"], body["duplicates"], body["clampedTimestamps"]) == (2, 2, 0, 1)
    assert [(r["index"], r["path"]) for r in body["rejected"]] == [
        (1, "$[1].metric.renderTime"),
        (2, "$[2].metric"),
        (4, "$[4].type"),
    ]
    assert all(r["message"] for r in body["rejected"])
    assert sorted(r["type"] for r in rows(client)) == ["api", "render"]
    assert [r["ts_clamped"] for r in rows(client, "SELECT ts_clamped FROM events WHERE type = 'api'")] == [
        True
    ]


# --- 4xx -----------------------------------------------------------------------------------


def test_a_single_invalid_event_is_422_with_what_and_where_and_nothing_is_stored(client: TestClient) -> None:
    answer = client.post(URL, json=event("scroll", avgFps=-3))
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_events"
    assert body["rejected"] == [{"index": 0, "path": "$.metric.avgFps", "message": "Expected `float` >= 0.0"}]
    assert "$.metric.avgFps" in body["message"]
    assert stored_count(client) == 0


def test_a_batch_with_no_valid_event_is_422_listing_each_index(client: TestClient) -> None:
    answer = client.post(URL, json=[event("render", renderTime=-1), {"type": "x", "metric": {}}])
    assert answer.status_code == 422
    assert [r["index"] for r in answer.json()["rejected"]] == [0, 1]
    assert stored_count(client) == 0


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(b"", "empty body", id="empty"),
        pytest.param(b"[]", "empty batch", id="empty-array"),
        pytest.param(b"{not json", "not valid JSON", id="malformed"),
        pytest.param(b'{"type": "render", "metric": {"renderTime": NaN}}', "NaN", id="nan"),
        pytest.param(b'{"type": "render", "metric": {"renderTime": 1, "tabId": "\xfe"}}', "UTF-8", id="utf8"),
        pytest.param(
            rb'{"type": "render", "metric": {"renderTime": 1, "tabId": "\udfff"}}', "unicode", id="sur"
        ),
    ],
)
def test_unreadable_bodies_are_400(client: TestClient, body: bytes, says: str) -> None:
    answer = client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_request"
    assert says in answer.json()["message"]


def test_a_batch_over_1000_events_is_413(client: TestClient) -> None:
    answer = client.post(URL, json=[event("render") for _ in range(1001)])
    assert answer.status_code == 413
    assert "1001" in answer.json()["message"]
    assert stored_count(client) == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html"],
)
def test_other_content_types_are_415(client: TestClient, content_type: str) -> None:
    answer = client.post(URL, content=json.dumps(event("render")), headers={"Content-Type": content_type})
    assert answer.status_code == 415
    assert "application/json" in answer.json()["message"]
    assert stored_count(client) == 0


def test_a_compressed_body_is_415_and_says_so(client: TestClient) -> None:
    body = gzip.compress(json.dumps(event("render")).encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    answer = client.post(URL, content=body, headers=headers)
    assert answer.status_code == 415
    assert answer.json()["message"] == "Content-Encoding 'gzip' is not accepted: send the JSON uncompressed"
    plain = client.post(
        URL, content=json.dumps(event("render")), headers=headers | {"Content-Encoding": "identity"}
    )
    assert plain.status_code == 200 and stored_count(client) == 1


def _body_over_limit() -> bytes:
    # A valid batch of 1000 events, each padded with a field the server ignores.
    padding = "x" * 1100
    body = json.dumps([event("render", messageId="m", padding=padding) for _ in range(1000)]).encode()
    assert len(body) > MIB
    return body


def test_a_body_over_1_mib_with_content_length_is_413(client: TestClient) -> None:
    answer = client.post(URL, content=_body_over_limit(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert str(MIB) in answer.json()["message"]
    assert stored_count(client) == 0


def test_a_body_of_exactly_1_mib_is_accepted(client: TestClient) -> None:
    one = json.dumps(event("render")).encode()
    body = b"[" + b",".join([one] * 10) + b"]"
    body = body[:-1] + b" " * (MIB - len(body)) + b"]"
    assert len(body) == MIB
    assert client.post(URL, content=body, headers={"Content-Type": "application/json"}).status_code == 200


def test_a_real_server_answers_413_to_an_oversized_body_with_content_length(live: ServerProcess) -> None:
    answer = httpx.post(
        live.url + URL, content=_body_over_limit(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["error"] == "payload_too_large"


def test_a_real_server_answers_413_to_an_oversized_chunked_body(live: ServerProcess) -> None:
    body = _body_over_limit()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    request = httpx.Request("POST", live.url + URL, content=chunks(), headers={"Content-Type": "text/plain"})
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    with httpx.Client() as http:
        answer = http.send(request)
    assert answer.status_code == 413
    assert "over the limit" in answer.json()["message"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_regression_a_4_mb_batch_got_a_connection_reset_instead_of_a_readable_413(
    live: ServerProcess, chunked: bool
) -> None:
    # Bigger than the socket buffers: answered before it was read, the connection was reset.
    body = _body_over_limit() * 4
    assert len(body) > 4 * MIB
    content: bytes | Iterator[bytes] = (
        iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    )
    for _ in range(3):
        answer = httpx.post(
            live.url + URL, content=content, headers={"Content-Type": "text/plain"}, timeout=30
        )
        assert answer.status_code == 413
        assert "split the batch" in answer.json()["message"]
        content = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body


def test_a_body_nested_100000_levels_deep_is_400(client: TestClient) -> None:
    for body in (b"[" * 100_000 + b"]" * 100_000, b"[" + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"]"):
        answer = client.post(URL, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        assert "nested too deeply" in answer.json()["message"]
    assert stored_count(client) == 0


def test_a_real_server_accepts_a_small_chunked_body(live: ServerProcess) -> None:
    body = json.dumps([event("bundle", eventId=None) for _ in range(50)]).encode()
    answer = httpx.post(live.url + URL, content=iter([body[:100], body[100:]]))
    assert answer.status_code == 200
    assert answer.json()["stored"] == 50


# --- beacons and CORS ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain;charset=UTF-8",  # what navigator.sendBeacon sends for a string
        "text/plain",
        "application/json; charset=utf-8",
        "Application/JSON",
    ],
)
def test_json_and_text_plain_are_accepted(client: TestClient, content_type: str) -> None:
    answer = client.post(
        URL, content=json.dumps([event("render"), event("api")]), headers={"Content-Type": content_type}
    )
    assert answer.status_code == 200
    assert answer.json()["stored"] == 2


def test_a_beacon_from_another_origin_reaches_a_real_server(live: ServerProcess) -> None:
    answer = httpx.post(
        live.url + URL,
        content=json.dumps(event("memory", eventId="beacon-1")),
        headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://shop.example"},
    )
    assert answer.status_code == 200
    assert answer.json()["stored"] == 1
    assert answer.headers["access-control-allow-origin"] in ("*", "https://shop.example")


def test_cors_preflight_is_answered(client: TestClient) -> None:
    answer = client.options(
        URL,
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] in ("*", "https://shop.example")
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "content-type" in answer.headers["access-control-allow-headers"].lower()
    assert int(answer.headers["access-control-max-age"]) > 0


def test_any_page_may_post_events_but_not_read_the_summary(client: TestClient) -> None:
    origin = {"Origin": "https://shop.example"}
    posted = client.post(URL, json=event("render"), headers=origin)
    assert posted.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in posted.headers
    # The summary shares ingest's path; a foreign page may not read it (CORS origins default to none).
    got = client.get(URL, headers=origin)
    assert got.status_code == 200  # the browser, not the server, withholds the answer
    assert "access-control-allow-origin" not in got.headers
    preflight = client.options(
        URL,
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_read_routes_answer_the_listed_origins_only(settings: Settings) -> None:
    listed = settings.model_copy(update={"cors_origins": ["https://ops.example"]})
    with TestClient(base_url=LOCAL, app=create_app(listed)) as client:
        ok = client.get(URL, headers={"Origin": "https://ops.example"})
        assert ok.headers["access-control-allow-origin"] == "https://ops.example"
        assert "access-control-allow-credentials" not in ok.headers
        other = client.get("/api/monitoring/alerts", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options(
            "/api/monitoring/alerts/config",
            headers={
                "Origin": "https://ops.example",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


def test_a_get_without_origin_still_says_it_varies_by_origin(client: TestClient) -> None:
    """A shared cache must not hand a browser (with Origin) a copy stored for a script
    (without), which lacks the CORS headers; POSTs are not cached, so they skip CORS."""
    got = client.get(URL)
    assert "origin" in got.headers["vary"].lower()
    assert "access-control-allow-origin" not in got.headers
    posted = client.post(URL, json=event("render"))
    assert posted.status_code == 200
    assert "access-control-allow-origin" not in posted.headers and "vary" not in posted.headers


# --- idempotency ---------------------------------------------------------------------------


def test_a_retried_event_id_is_stored_once(client: TestClient) -> None:
    first = client.post(URL, json=event("render", eventId="retry-me")).json()
    second = client.post(URL, json=event("render", eventId="retry-me")).json()
    assert (first["stored"], first["duplicates"]) == (1, 0)
    assert (second["accepted"], second["stored"], second["duplicates"]) == (1, 0, 1)
    assert stored_count(client) == 1


def test_a_repeated_event_id_within_one_batch_is_stored_once(client: TestClient) -> None:
    batch = [
        event("render", eventId="a"),
        event("render", eventId="b"),
        event("render", eventId="a"),
        event("api", eventId="b"),
    ]
    body = client.post(URL, json=batch).json()
    assert (body["stored"], body["duplicates"]) == (2, 2)
    assert sorted(r["event_id"] for r in rows(client)) == ["a", "b"]


@pytest.mark.parametrize(
    "filler", [pytest.param(0, id="small-batch"), pytest.param(150, id="batch-of-columns")]
)
def test_of_two_events_sharing_an_id_the_one_sent_first_is_stored(client: TestClient, filler: int) -> None:
    """Regression: a big batch's columns are grouped by type (renders first here, as the
    first event is a render), and the dedupe kept the render sent third instead of the
    memory sent second."""
    batch = [event("render", eventId="first")]
    batch += [event("memory", eventId="x", usedJSHeapSize=111), event("render", eventId="x", renderTime=9.0)]
    batch += [event("render", eventId=f"f{n}") for n in range(filler)]
    body = client.post(URL, json=batch).json()
    assert (body["stored"], body["duplicates"]) == (2 + filler, 1)
    [kept] = rows(client, "SELECT type, used_js_heap_size, render_time FROM events WHERE event_id = 'x'")
    assert kept == {"type": "memory", "used_js_heap_size": 111, "render_time": None}


def test_a_retried_batch_is_stored_once_even_when_partly_new(client: TestClient) -> None:
    client.post(URL, json=[event("render", eventId=f"e{i}") for i in range(5)])
    body = client.post(URL, json=[event("render", eventId=f"e{i}") for i in range(3, 8)]).json()
    assert (body["stored"], body["duplicates"]) == (3, 2)
    assert stored_count(client) == 8


def test_events_without_event_id_are_all_stored(client: TestClient) -> None:
    same = event("render", eventId=None)
    client.post(URL, json=same)
    client.post(URL, json=same)
    body = client.post(URL, json=[same, same, same]).json()
    assert (body["stored"], body["duplicates"]) == (3, 0)
    assert stored_count(client) == 5


def test_a_rejected_event_does_not_burn_its_event_id(client: TestClient) -> None:
    bad = client.post(URL, json=event("render", eventId="fix-me", renderTime=-5))
    assert bad.status_code == 422
    good = client.post(URL, json=event("render", eventId="fix-me", renderTime=5)).json()
    assert good["stored"] == 1


# --- decoder processes ------------------------------------------------------------------------


def test_when_a_decoder_process_dies_its_request_and_the_next_are_still_stored(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, summary_cache_seconds=0, decoder_processes=1, decoder_min_bytes=0)
    with TestClient(base_url=LOCAL, app=create_app(settings)) as client:
        decoders = client.app.state.runtime.decoders
        [first_pid] = decoders.pids()
        assert client.post(URL, json=[event("render", eventId="before")]).json()["stored"] == 1
        os.kill(first_pid, signal.SIGKILL)
        # the dead process's pool is broken: this body is read in place, a new pool started
        assert client.post(URL, json=[event("render", eventId="during")]).json()["stored"] == 1
        assert client.post(URL, json=[event("render", eventId="after")]).json()["stored"] == 1
        [new_pid] = decoders.pids()
        assert new_pid != first_pid
        assert sorted(r["event_id"] for r in rows(client)) == ["after", "before", "during"]


def test_requests_on_a_pool_whose_decoder_died_are_all_stored_and_one_new_pool_serves_the_next(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=data_dir, summary_cache_seconds=0, decoder_processes=1, decoder_min_bytes=0)
    caplog.set_level(logging.WARNING, logger="ingest_api.decoders")
    with TestClient(base_url=LOCAL, app=create_app(settings)) as client:
        decoders = client.app.state.runtime.decoders
        [first_pid] = decoders.pids()
        os.kill(first_pid, signal.SIGKILL)
        batches = [[event("render", eventId=f"c{n}-{k}") for k in range(50)] for n in range(6)]
        with ThreadPoolExecutor(6) as senders:
            answers = list(senders.map(lambda batch: client.post(URL, json=batch), batches))
        assert [a.status_code for a in answers] == [200] * 6
        assert [a.json()["stored"] for a in answers] == [50] * 6
        assert client.post(URL, json=[event("render", eventId="after")]).json()["stored"] == 1
        assert len(decoders.pids()) == 1 and decoders.pids() != [first_pid]
        assert stored_count(client) == 6 * 50 + 1
    # six requests met the broken pool; only the first replaced it
    assert [r.getMessage() for r in caplog.records].count("a decoder process died; starting a new pool") == 1


def test_a_batch_near_the_body_limit_crosses_to_the_decoder_whole_and_is_stored(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, summary_cache_seconds=0, decoder_processes=1, decoder_min_bytes=0)
    padding = "x" * 700  # ~0.9 KiB per event: 1000 events come close to the 1 MiB limit
    batch = [event("persistence", eventId=f"big-{k}", errorMessage=padding) for k in range(1000)]
    body = json.dumps(batch).encode()
    assert 0.8 * MIB < len(body) <= MIB
    with TestClient(base_url=LOCAL, app=create_app(settings)) as client:
        pool = client.app.state.runtime.decoders._pool
        pipes = [pool._call_queue._writer, pool._result_queue._writer]
        # the whole body fits in the pipe, rather than crossing 64 KiB at a time
        assert all(fcntl.fcntl(p.fileno(), fcntl.F_GETPIPE_SZ) >= len(body) for p in pipes)
        answer = client.post(URL, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 200 and answer.json()["stored"] == 1000
        stored = rows(client, "SELECT count(*) AS n, min(length(error_message)) AS shortest FROM events")
        assert stored == [{"n": 1000, "shortest": 700}]
