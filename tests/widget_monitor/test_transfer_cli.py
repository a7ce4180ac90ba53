"""`widget-monitor export` and `import`: through running servers and on stopped data dirs, every row
comes back column for column, a second import stores nothing, a bad line is named and the rest kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow.parquet as pq
import pytest

from analytics.storage.store import DB_FILENAME
from analytics.storage.table import COLUMNS
from tests.support.events import FULL_METRICS, event
from tests.support.server import REPO, ServerProcess, free_port
from widget_monitor.cli import main

ADMIN_TOKEN = "transfer-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ENV = {"WIDGET_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN, "WIDGET_MONITOR_DECODER_PROCESSES": "0"}
WIDGET = "/api/monitoring/widget"
# 10 days ago: older than an ingest key may post, so this is the backfill path.
DAY = (datetime.now(UTC) - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)


def stamp(minutes: int, micros: int = 0) -> str:
    moment = DAY + timedelta(minutes=minutes, microseconds=micros)
    spec = "microseconds" if micros % 1000 else "milliseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


# Every type for two customers, one minute apart, with every field; one time in microseconds.
EVENTS: list[dict[str, Any]] = [
    event(
        kind,
        eventId=f"{customer}-{kind}",
        customerId=customer,
        sessionId=f"s-{customer}",
        widgetVersion="2.4.1",
        tabId="t1",
        seq=n,
        timestamp=stamp(n, micros=123_456 if n == 3 else 0),
    )
    for n, (customer, kind) in enumerate((c, k) for c in ("acme", "globex") for k in FULL_METRICS)
]


def cli(*args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {name: value for name, value in os.environ.items() if name != "WIDGET_MONITOR_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "widget_monitor.cli", *map(str, args)],
        cwd=REPO,
        env={**base, **ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stderr


def rows_of(data_dir: Path) -> dict[str, dict[str, Any]]:
    """Every stored row by its eventId, all columns but received_at (read once the server stopped)."""
    with duckdb.connect(str(data_dir / DB_FILENAME), read_only=True) as con:
        table = con.sql("SELECT * EXCLUDE (received_at) FROM events").to_arrow_table()
    return {row["event_id"]: row for row in table.to_pylist()}


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_export_then_import_through_running_servers(tmp_path: Path) -> None:
    start, end = EVENTS[2]["metric"]["timestamp"], EVENTS[15]["metric"]["timestamp"]
    with ServerProcess(tmp_path / "a", env=ENV) as a:
        answer = httpx.post(a.url + WIDGET, json=EVENTS, headers=ADMIN)
        assert answer.json()["stored"] == len(EVENTS), answer.text
        scoped = httpx.post(
            a.url + "/api/monitoring/tokens",
            json={"name": "acme-reader", "role": "viewer", "customerId": "acme"},
            headers=ADMIN,
        ).json()["token"]

        # [from, to): the event at `from` is in, the one at `to` is out
        err = ok(cli("export", tmp_path / "part.jsonl", "--from", start, "--to", end, "--api-url", a.url))
        assert "exporting [" in err and "13/13 events" in err and "exported 13 events" in err
        assert lines_of(tmp_path / "part.jsonl") == EVENTS[2:15]
        ok(cli("export", tmp_path / "all.parquet", "--api-url", a.url))
        assert pq.read_table(tmp_path / "all.parquet").column_names == list(COLUMNS)
        ok(cli("export", tmp_path / "all.txt", "--format", "csv", "--api-url", a.url))
        header, *csv_rows = (tmp_path / "all.txt").read_text().splitlines()
        assert header.split(",") == list(COLUMNS) and len(csv_rows) == len(EVENTS)

        # a token scoped to acme exports acme's events only, and may not ask for another customer
        ok(cli("export", tmp_path / "acme.jsonl", "--api-url", a.url, WIDGET_MONITOR_TOKEN=scoped))
        assert lines_of(tmp_path / "acme.jsonl") == [e for e in EVENTS if e["metric"]["customerId"] == "acme"]
        refused = cli(
            "export",
            tmp_path / "x.jsonl",
            "--customer-id",
            "globex",
            "--api-url",
            a.url,
            WIDGET_MONITOR_TOKEN=scoped,
        )
        assert refused.returncode == 1 and "403" in refused.stderr and not (tmp_path / "x.jsonl").exists()
    originals = rows_of(tmp_path / "a")

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(event("render", eventId="good-1", timestamp=stamp(100)))
        + "\n"
        + json.dumps(event("render", eventId="bad-1", renderTime="slow"))
        + "\n\nnot json\n"
        + json.dumps(event("render", eventId="good-2", timestamp=stamp(101)))
        + "\n"
    )
    with ServerProcess(tmp_path / "b", env=ENV) as b:
        assert "imported part.jsonl: 13 stored, 0 duplicates, 0 rejected" in ok(
            cli("import", tmp_path / "part.jsonl", "--api-url", b.url)
        )
        err = ok(cli("import", tmp_path / "all.parquet", "--api-url", b.url))
        assert "importing [" in err and "5 stored, 13 duplicates, 0 rejected" in err
        # the same file twice: stored once
        assert "0 stored, 13 duplicates" in ok(cli("import", tmp_path / "part.jsonl", "--api-url", b.url))
        failed = cli("import", bad, "--api-url", b.url)
        assert failed.returncode == 1
        assert "2 stored, 0 duplicates, 2 rejected" in failed.stderr
        assert "line 2: metric.renderTime: Expected `float`, got `str`" in failed.stderr
        assert "line 4: not valid JSON" in failed.stderr
    imported = rows_of(tmp_path / "b")
    assert set(imported) == set(originals) | {"good-1", "good-2"}
    for event_id, row in originals.items():
        assert imported[event_id] == row, event_id  # column for column, ts_clamped included


def test_offline_on_stopped_data_dirs(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    err = ok(cli("import", source, "--data-dir", tmp_path / "d", "--api-url", nobody))
    assert "working on" in err and "importing [" in err and "18 stored, 0 duplicates" in err
    assert "0 stored, 18 duplicates" in ok(
        cli("import", source, "--data-dir", tmp_path / "d", "--api-url", nobody)
    )

    err = ok(cli("export", tmp_path / "out.jsonl", "--data-dir", tmp_path / "d", "--api-url", nobody))
    assert "exporting [" in err and "18/18 events" in err
    assert lines_of(tmp_path / "out.jsonl") == EVENTS  # what went in, oldest first
    bounds = ("--customer-id", "acme", "--from", stamp(1), "--to", stamp(5))
    ok(cli("export", tmp_path / "acme.parquet", *bounds, "--data-dir", tmp_path / "d", "--api-url", nobody))
    assert pq.read_table(tmp_path / "acme.parquet").column("event_id").to_pylist() == [
        f"acme-{kind}" for kind in list(FULL_METRICS)[1:5]
    ]
    ok(cli("import", tmp_path / "acme.parquet", "--data-dir", tmp_path / "e", "--api-url", nobody))
    stored, exported = rows_of(tmp_path / "e"), rows_of(tmp_path / "d")
    assert stored == {event_id: exported[event_id] for event_id in stored} and len(stored) == 4


def test_a_data_dir_held_by_a_running_server_is_left_alone(tmp_path: Path) -> None:
    elsewhere = f"http://127.0.0.1:{free_port()}"
    source = tmp_path / "events.jsonl"
    source.write_text(json.dumps(EVENTS[0]) + "\n")
    with ServerProcess(tmp_path / "d", env=ENV):
        for args in (("export", tmp_path / "x.parquet"), ("import", source)):
            done = cli(*args, "--data-dir", tmp_path / "d", "--api-url", elsewhere)
            assert done.returncode == 1 and "in use by a running server" in done.stderr, done.stderr
    assert not (tmp_path / "d" / "damaged").exists() and rows_of(tmp_path / "d") == {}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(("export", "events.xlsx"), "add --format", id="unknown-suffix"),
        pytest.param(
            ("export", "e.jsonl", "--from", "2026-02-01", "--to", "2026-01-01"), "before", id="reversed"
        ),
        pytest.param(("import", "no-such-file.jsonl"), "no file", id="missing"),
    ],
)
def test_usage_errors_exit_2(
    args: tuple[str, ...], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    assert main([*args, "--api-url", nobody, "--data-dir", str(tmp_path / "d")]) == 2
    assert says in capsys.readouterr().err


def test_a_csv_cannot_be_imported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "e.csv").write_text("event_id,type\n")
    assert main(["import", str(tmp_path / "e.csv")]) == 2
    assert "JSONL or Parquet" in capsys.readouterr().err


def test_a_time_that_is_not_iso_8601_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["export", "e.jsonl", "--from", "yesterday"])
    assert exited.value.code == 2 and "not an ISO 8601 time" in capsys.readouterr().err
