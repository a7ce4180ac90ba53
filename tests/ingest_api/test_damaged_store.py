"""A damaged WAL or database file: the server starts, serves what survived, says what may be
lost, keeps the damaged file aside, and `widget-monitor recover` puts back what it can.

One store is made once for the module: 30 events of two closed days (moved to the Parquet
lake) and 40 of today, checkpointed into the database file; then a real server takes 6
batches of 10 over HTTP, one commit each, and is killed with SIGKILL so that they stay in
the WAL. Each test damages a copy the way a disk fault would and starts the app the
server runs over it in-process (a server process costs seconds to start).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from analytics.ingest.intake import read_body
from analytics.rollups import maintain
from analytics.storage import lake
from analytics.storage.store import DB_FILENAME, EventStore, IngestBatch
from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.server import LOCAL, ServerProcess
from widget_monitor.cli import main

INGEST = "/api/monitoring/widget"
WAL = f"{DB_FILENAME}.wal"
ADMIN_TOKEN = "damage-admin-token-0123456789abcdef"

NOW = datetime.now(UTC).replace(microsecond=0)
OLD_DAYS = {3: 20, 2: 10}  # days ago -> events that day (closed days: moved to the lake)
OLD = [f"old-{days}-{i}" for days, n in OLD_DAYS.items() for i in range(n)]
TODAY = [f"chk-{i}" for i in range(40)]
BATCHES = 6
WAL_IDS = [[f"wal-{b}-{i}" for i in range(10)] for b in range(BATCHES)]
CHECKPOINTED = TODAY  # in the database file (the old days are in the lake)
ALL = OLD + CHECKPOINTED + [i for batch in WAL_IDS for i in batch]


def _render(event_id: str, at: datetime | None = None) -> dict[str, Any]:
    metric: dict[str, Any] = {"renderTime": 5.0, "eventId": event_id}
    if at is not None:
        metric["timestamp"] = at.isoformat().replace("+00:00", "Z")
    return {"type": "render", "metric": metric}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("pristine") / "data"
    store = EventStore.open(data_dir)
    received = time.time_ns() // 1000
    noon = NOW.replace(hour=12, minute=0, second=0)
    events = [_render(i, noon - timedelta(days=int(i.split("-")[1]))) for i in OLD] + [
        _render(i) for i in TODAY
    ]
    accepted = read_body(json.dumps(events).encode(), received_us=received).accepted
    store.append([IngestBatch.of_events(accepted, received)])
    with store.cursor() as cur:
        maintain.advance(cur, safe_until=datetime.now(UTC), now=datetime.now(UTC), max_hours=10_000)
        assert len(lake.move_closed_days(cur, data_dir / lake.LAKE_SUBDIR)) == len(OLD_DAYS)
    store.checkpoint()  # all of it in the database file, no WAL (closing leaves the WAL as it is)
    store.close()
    server = ServerProcess(data_dir, env={"WIDGET_MONITOR_DECODER_PROCESSES": "0"}).start()
    try:
        for batch in WAL_IDS:
            answer = httpx.post(f"{server.url}{INGEST}", json=[_render(i) for i in batch])
            assert answer.json()["stored"] == len(batch)
    finally:
        server.kill()  # SIGKILL: no checkpoint, the batches stay in the WAL
    assert (data_dir / WAL).stat().st_size > 0
    return data_dir


@pytest.fixture
def damaged(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the store, to be damaged."""
    return Path(shutil.copytree(pristine, tmp_path / "data"))


def _settings(data_dir: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=data_dir, decoder_processes=0, summary_cache_seconds=0, lake_export_interval_s=0, **extra
    )


def _app(data_dir: Path, **settings: Any) -> TestClient:
    """The app the server runs, in-process, over `data_dir` (enter it to start it)."""
    return TestClient(base_url=LOCAL, app=create_app(_settings(data_dir, **settings)))


def _stored_ids(data_dir: Path) -> list[str]:
    con = duckdb.connect(str(data_dir / DB_FILENAME), read_only=True)
    try:
        con.begin()
        source = lake.events_source(con)  # in DuckDB, or moved to the lake
        return sorted(i for (i,) in con.execute(f"SELECT event_id FROM {source}").fetchall())
    finally:
        con.close()


def _recover(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["recover", "--data-dir", str(data_dir), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _damage(health: dict[str, Any]) -> dict[str, Any]:
    (report,) = health["storeDamage"]
    return report


def _renders_last_hour(client: TestClient | httpx.Client) -> int:
    summary = client.get(INGEST, params={"window": 3_600_000}, headers={"Cache-Control": "no-cache"}).json()
    return int(summary["performance"]["renders"]["count"])


def test_a_wal_cut_inside_its_last_commit_replays_the_rest_and_says_so(
    damaged: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # What kill -9 between two of DuckDB's writes of one commit leaves (or a disk that lost
    # the end of the file): that commit never returned, so it was never acknowledged.
    original = (damaged / WAL).stat().st_size
    os.truncate(damaged / WAL, original - 30)
    with caplog.at_level(logging.WARNING, logger="analytics.storage.store_damage"), _app(damaged) as client:
        assert _renders_last_hour(client) == len(TODAY) + 10 * (BATCHES - 1)
        assert "storeDamage" not in client.get("/healthz").json()  # no false alarm after a crash
    (warning,) = [r.getMessage() for r in caplog.records if "unfinished commit" in r.getMessage()]
    assert "never acknowledged" in warning
    assert not (damaged / "damaged").exists()  # nothing to recover from: no copy of the WAL kept
    assert _stored_ids(damaged) == sorted(ALL[:-10])


def test_garbage_appended_to_the_wal_loses_nothing(damaged: Path) -> None:
    with (damaged / WAL).open("ab") as file:
        file.write(os.urandom(4096))
    with _app(damaged) as client:
        report = _damage(client.get("/healthz").json())
        assert _renders_last_hour(client) == len(TODAY) + 10 * BATCHES
    assert report["wal"]["unreadableBytes"] == 4096
    assert report["wal"]["replayedCommits"] == report["wal"]["wholeCommits"]
    assert report["eventsAfterOpen"] == len(ALL) - len(OLD)  # (in DuckDB: the lake's are apart)


def test_a_wal_of_garbage_leaves_the_checkpointed_events(
    damaged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (damaged / WAL).write_bytes(os.urandom((damaged / WAL).stat().st_size))
    with _app(damaged) as client:
        report = _damage(client.get("/healthz").json())
        assert client.post(INGEST, json=[_render("after-0")]).json()["stored"] == 1
    assert report["problem"] == "the header is not a WAL header"
    assert report["eventsAfterOpen"] == len(CHECKPOINTED)
    (outcome,) = _recover(damaged, capsys)
    assert outcome["restored"] == 0
    assert _stored_ids(damaged) == sorted([*OLD, *CHECKPOINTED, "after-0"])


def test_a_wal_entry_duckdb_refuses_the_server_starts_and_recover_restores_what_follows(
    damaged: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    data = bytearray((damaged / WAL).read_bytes())
    at = data.index(b"wal-3-5")  # inside the fourth commit's rows: its checksum fails
    data[at : at + 7] = b"XXXXXXX"
    (damaged / WAL).write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, logger="ingest_api.runtime"), _app(damaged) as client:
        report = _damage(client.get("/healthz").json())
        assert _renders_last_hour(client) == len(TODAY) + 30
    assert "fails its checksum" in report["problem"]
    assert report["wal"]["replayedCommits"] == report["wal"]["wholeCommits"]
    assert report["wal"]["wholeCommitsAfterDamage"] == BATCHES - 4
    assert f"store damage {report['id']}" in caplog.text and "widget-monitor recover" in caplog.text

    with _held(damaged):  # as by a running server
        assert main(["recover", "--data-dir", str(damaged)]) == 2
        assert "held by another process" in capsys.readouterr().err
    assert main(["recover", "--data-dir", str(damaged)]) == 0
    printed = capsys.readouterr().out
    assert "wal: 20 events restored of 20 read (2 commits replayed" in printed
    before_wal = len(OLD) + len(CHECKPOINTED)
    assert _stored_ids(damaged) == sorted(ALL[: before_wal + 30] + ALL[before_wal + 40 :])
    assert main(["recover", "--data-dir", str(damaged)]) == 0
    assert "nothing to recover" in capsys.readouterr().out


@contextlib.contextmanager
def _held(data_dir: Path) -> Iterator[None]:
    """Another process holding the store open, as a running server does."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data_dir / DB_FILENAME)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.kill()
        holder.wait(timeout=10)


HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"


def test_a_truncated_database_file_is_replaced_and_rebuilt_from_wal_and_lake(
    damaged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.truncate(damaged / DB_FILENAME, 16 * 1024)
    generations = damaged / "lake" / "generations"  # the lake's rows (the rest are links to them)
    lake_before = {p: p.stat().st_mtime_ns for p in generations.rglob("*.parquet")}
    with _app(damaged) as client:
        report = _damage(client.get("/healthz").json())
        assert client.post(INGEST, json=[_render(f"after-{i}") for i in range(5)]).json()["stored"] == 5
        assert _renders_last_hour(client) == 5
        # the empty database must not overwrite the lake's copy of the closed days
        assert client.post("/api/monitoring/lake/export", json={}).json()["count"] == 0
    assert report["what"] == "database" and "Could not read enough bytes" in report["duckdbSaid"]
    assert {f["name"] for f in report["files"]} == {DB_FILENAME, WAL}
    assert all((damaged / f["keptAs"]).exists() for f in report["files"])
    assert {p: p.stat().st_mtime_ns for p in generations.rglob("*.parquet")} == lake_before

    (outcome,) = _recover(damaged, capsys)
    sources = {s["source"]: s for s in outcome["sources"]}
    assert sources["wal"]["restored"] == 10 * BATCHES
    assert sources["lake"]["restored"] == 0  # named in the new manifest when the server started
    assert "could not be read" in outcome["stillLost"]
    assert _stored_ids(damaged) == sorted(
        [*OLD, *ALL[len(OLD) + len(CHECKPOINTED) :], *(f"after-{i}" for i in range(5))]
    )


def test_a_database_header_overwritten_is_rebuilt_and_keys_survive(
    damaged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "--customer-id", "acme", "--data-dir", str(damaged)]) == 0
    key = json.loads(capsys.readouterr().out)["key"]
    with (damaged / DB_FILENAME).open("r+b") as file:
        file.write(os.urandom(4096))
    with _app(damaged, admin_token=SecretStr(ADMIN_TOKEN)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}  # the public answer stays minimal
        health = client.get("/healthz", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
        assert "not a valid DuckDB database file" in _damage(health)["duckdbSaid"]
        sent = client.post(INGEST, params={"key": key}, json=[_render("after-0")])
        assert sent.status_code == 200 and sent.json()["stored"] == 1
    (outcome,) = _recover(damaged, capsys)
    sources = {s["source"]: s for s in outcome["sources"]}
    assert sources["database"]["restored"] == len(CHECKPOINTED)
    assert "rebuilt its main header" in sources["database"]["notes"]
    assert outcome["stillLost"] == "nothing"
    assert _stored_ids(damaged) == sorted([*ALL, "after-0"])


def test_garbage_appended_to_the_database_file_is_no_damage(damaged: Path) -> None:
    with (damaged / DB_FILENAME).open("ab") as file:
        file.write(os.urandom(300_000))
    with _app(damaged) as client:
        assert "storeDamage" not in client.get("/healthz").json()
        assert _renders_last_hour(client) == len(TODAY) + 10 * BATCHES


def _break_the_block_of(data_dir: Path, column: str) -> None:
    """Overwrite bytes inside the block that holds `column` (where DuckDB says it is)."""
    con = duckdb.connect(str(data_dir / DB_FILENAME), read_only=True)
    try:
        ((block,),) = con.execute(
            "SELECT DISTINCT block_id FROM pragma_storage_info('events') "
            "WHERE column_name = ? AND block_id >= 0",
            [column],
        ).fetchall()
    finally:
        con.close()
    with (data_dir / DB_FILENAME).open("r+b") as file:
        file.seek(3 * 4096 + block * 256 * 1024 + 100)  # past the three headers, into the block
        file.write(b"\xff" * 16)


def test_a_damaged_block_the_open_reads_has_the_file_set_aside(damaged: Path) -> None:
    _break_the_block_of(damaged, "event_id")
    with _app(damaged) as client:
        report = _damage(client.get("/healthz").json())
        assert client.post(INGEST, json=[_render("after-0")]).json()["stored"] == 1
    assert report["what"] == "database" and "Corrupt database file" in report["duckdbSaid"]


def test_recover_verify_finds_a_damaged_block_and_salvages_around_it(
    damaged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _break_the_block_of(damaged, "event_id")
    # DuckDB opens such a file: only a query that reads the block fails
    con = duckdb.connect(str(damaged / DB_FILENAME), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(len(ALL) - len(OLD),)]
    with pytest.raises(duckdb.Error, match="Corrupt database file"):
        con.execute("SELECT max(event_id) FROM events").fetchall()
    con.close()
    assert main(["recover", "--data-dir", str(damaged), "--verify", "--json"]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)
    sources = {s["source"]: s for s in outcome["sources"]}
    # the checkpointed rows share one row group, and so the broken block
    assert sources["database"]["lostEvents"] == len(CHECKPOINTED)
    assert sources["wal"]["restored"] == 10 * BATCHES
    assert _stored_ids(damaged) == sorted([*OLD, *ALL[len(OLD) + len(CHECKPOINTED) :]])
