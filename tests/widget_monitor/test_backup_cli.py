"""`widget-monitor backup` from a server under ingest, then `restore` into a stopped data dir: every event
acknowledged before the backup began is back, with the rollups, the lake's files and the keys."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from analytics.storage import lake
from analytics.storage.backup import BackupError, restore
from analytics.storage.store import DB_FILENAME
from tests.support.server import REPO, ServerProcess

ADMIN_TOKEN = "backup-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ENV = {"WIDGET_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN, "WIDGET_MONITOR_ROLLUP_INTERVAL_S": "0.3"}
WIDGET = "/api/monitoring/widget"


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "widget_monitor.cli", *map(str, args)],
        cwd=REPO,
        env={**os.environ, **ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def renders(start: int, n: int, at: datetime, customer: str = "acme") -> list[dict[str, Any]]:
    return [
        {
            "type": "render",
            "metric": {
                "renderTime": float(i % 50) + 0.5,
                "customerId": customer,
                "timestamp": (at + timedelta(seconds=i % 3000)).isoformat(),
                "eventId": f"{customer}-{i}",
            },
        }
        for i in range(start, start + n)
    ]


def summary_count(url: str) -> int:
    answer = httpx.get(
        f"{url}{WIDGET}", params={"window": 4 * 86_400_000}, headers=ADMIN | {"Cache-Control": "no-cache"}
    )
    return int(answer.json()["performance"]["renders"]["count"])


def sha256s(lake: Path) -> dict[str, str]:
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest() for p in lake.rglob("*.parquet")
    }


@pytest.mark.slow
def test_a_backup_under_ingest_restores_everything_acknowledged_before_it(tmp_path: Path) -> None:
    source_dir, dest, restored_dir = tmp_path / "data", tmp_path / "backup", tmp_path / "restored"
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    with ServerProcess(source_dir, env=ENV) as server:
        assert (
            httpx.post(f"{server.url}{WIDGET}", json=renders(0, 900, two_days_ago), headers=ADMIN).status_code
            == 200
        )
        key = httpx.post(
            f"{server.url}/api/monitoring/keys", json={"customerId": "globex"}, headers=ADMIN
        ).json()
        assert (
            httpx.post(f"{server.url}/api/monitoring/lake/export", json={}, headers=ADMIN).json()["count"]
            == 1
        )
        acknowledged = 900
        stop, lock = threading.Event(), threading.Lock()

        def post_until_stopped() -> None:  # the key's customer keeps posting while the backup runs
            nonlocal acknowledged
            i = 10_000
            with httpx.Client(timeout=10) as client:
                while not stop.is_set():
                    batch = renders(i, 50, datetime.now(UTC) - timedelta(minutes=1), "globex")
                    if client.post(f"{server.url}{WIDGET}?key={key['key']}", json=batch).status_code == 200:
                        with lock:
                            acknowledged += 50
                    i += 50

        poster = threading.Thread(target=post_until_stopped)
        poster.start()
        try:
            while acknowledged < 2000:
                stop.wait(0.02)
            with lock:
                before_backup = acknowledged
            taken = cli("backup", dest, "--api-url", server.url)
        finally:
            stop.set()
            poster.join()
        assert taken.returncode == 0, taken.stderr
        assert "every checksum matches" in taken.stderr and "receiving [" in taken.stderr
        viewer = httpx.post(
            f"{server.url}/api/monitoring/tokens", json={"name": "v", "role": "viewer"}, headers=ADMIN
        ).json()["token"]
        refused = httpx.post(
            f"{server.url}/api/monitoring/backup", json={}, headers={"Authorization": f"Bearer {viewer}"}
        )
        assert refused.status_code == 403
        # a server still running on its data dir cannot be restored over
        busy = cli("restore", dest, "--data-dir", source_dir, "--force")
        assert busy.returncode == 2 and "in use" in busy.stderr
        snapshots = source_dir / ".backups"  # the server's snapshot, removed once streamed
        deadline = time.monotonic() + 10  # (by the response's cleanup, just after its last byte)
        while snapshots.exists() and any(snapshots.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not snapshots.exists() or not any(snapshots.iterdir())
        original_lake = sha256s(source_dir / "lake" / "events")
        audit = httpx.get(f"{server.url}/api/monitoring/audit", headers=ADMIN).json()["data"]
        assert "backup.take" in [entry["action"] for entry in audit]
        after_backup = acknowledged

    manifest_events = int(json.loads((dest / "backup.json").read_text())["events"])
    assert before_backup <= manifest_events <= after_backup  # everything acknowledged before it began

    put_back = cli("restore", dest, "--data-dir", restored_dir)
    assert put_back.returncode == 0, put_back.stderr
    assert f"restored {manifest_events:,} events and 1 lake days" in put_back.stdout
    # the lake's generations come back; the published days are linked to them again at start
    generations = sha256s(source_dir / "lake" / lake.GENERATIONS)
    assert sha256s(restored_dir / "lake" / lake.GENERATIONS) == generations
    with ServerProcess(restored_dir, env=ENV) as restored:
        assert sha256s(restored_dir / "lake" / "events") == original_lake
        assert summary_count(restored.url) == manifest_events
        # the key came back with the credentials; the rollups with the database
        again = httpx.post(
            f"{restored.url}{WIDGET}?key={key['key']}", json=renders(90_000, 1, datetime.now(UTC), "globex")
        )
        assert again.status_code == 200 and again.json()["stored"] == 1
        series = httpx.get(
            f"{restored.url}/api/monitoring/widget/timeseries",
            params={
                "metric": "render.renderTime",
                "stat": "count",
                "bucket": "1h",
                "from": (two_days_ago - timedelta(hours=1)).isoformat(),
                "to": (two_days_ago + timedelta(hours=25)).isoformat(),
            },
            headers=ADMIN,
        ).json()
        assert series["source"] == "rollup" and sum(p["value"] for p in series["points"]) == 900


@pytest.fixture(scope="module")
def small_backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of a server holding 10 events, taken once; each test restores a copy of it."""
    root = tmp_path_factory.mktemp("small")
    with ServerProcess(root / "data", env=ENV) as server:
        now = datetime.now(UTC) - timedelta(minutes=5)
        assert httpx.post(f"{server.url}{WIDGET}", json=renders(0, 10, now), headers=ADMIN).status_code == 200
        assert cli("backup", root / "backup", "--api-url", server.url).returncode == 0
        assert cli("backup", root / "backup", "--api-url", server.url).returncode == 2  # not empty: refused
        # without the admin token: refused by the server, and nothing left behind to be taken for a backup
        (root / "empty").mkdir()
        for dest in ("absent", "empty"):
            no_token = cli(
                "backup", root / dest, "--api-url", server.url, env={"WIDGET_MONITOR_ADMIN_TOKEN": ""}
            )
            REFUSED[dest] = no_token
    return root / "backup"


REFUSED: dict[str, subprocess.CompletedProcess[str]] = {}  # backups without a token, by where they went


def test_a_backup_without_the_admin_token_says_which_to_set_and_leaves_nothing(small_backup: Path) -> None:
    root = small_backup.parent
    for refused in REFUSED.values():
        assert refused.returncode == 1
        assert "answered 401" in refused.stderr and "set WIDGET_MONITOR_ADMIN_TOKEN" in refused.stderr
    assert set(REFUSED) == {"absent", "empty"}
    assert not (root / "absent").exists()  # made by the command, removed again
    assert (root / "empty").is_dir() and not any((root / "empty").iterdir())  # there before: kept, empty


def test_restore_refuses_a_damaged_backup_and_a_full_dir_without_force(
    tmp_path: Path, small_backup: Path
) -> None:
    dest, target = tmp_path / "backup", tmp_path / "target"
    shutil.copytree(small_backup, dest)
    target.mkdir()
    (target / "something.txt").write_text("kept")
    refused = cli("restore", dest, "--data-dir", target)
    assert refused.returncode == 2 and "--force" in refused.stderr
    forced = cli("restore", dest, "--data-dir", target, "--force")
    assert forced.returncode == 0, forced.stderr
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("target.before-restore-")]
    assert len(aside) == 1 and (aside[0] / "something.txt").read_text() == "kept"
    table = next((dest / "duckdb").glob("events.parquet"))
    damaged = bytearray(table.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    table.write_bytes(bytes(damaged))
    broken = cli("restore", dest, "--data-dir", tmp_path / "other")
    assert broken.returncode == 2 and "does not match its checksum" in broken.stderr
    assert not (tmp_path / "other").exists()


def test_restores_in_use_probe_leaves_a_stopped_store_as_it_was(tmp_path: Path, small_backup: Path) -> None:
    """The probe (is a server holding the file?) opens it read-only: it neither replays the WAL
    into the file nor checkpoints at close (a small last row group, which the server's next
    checkpoint would merge with the row groups before it: docs/history.md#memory)."""
    data = tmp_path / "data"
    data.mkdir()
    con = duckdb.connect(str(data / DB_FILENAME))
    con.execute("PRAGMA disable_checkpoint_on_shutdown")  # as the server leaves it
    con.execute("CREATE TABLE t AS SELECT range AS n FROM range(1000)")
    con.close()
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    assert any(name.endswith(".wal") for name in before)
    with pytest.raises(BackupError, match="holds data"):
        restore(small_backup, data)
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


def test_a_tampered_backup_cannot_write_outside_the_data_dir(tmp_path: Path, small_backup: Path) -> None:
    """A backup is data from elsewhere: its paths and its schema.sql are not trusted."""
    dest = tmp_path / "backup"
    shutil.copytree(small_backup, dest)
    manifest_path = dest / "backup.json"
    original = manifest_path.read_text()

    def tamper(change: Any) -> subprocess.CompletedProcess[str]:
        manifest = json.loads(original)
        change(manifest)
        manifest_path.write_text(json.dumps(manifest))
        return cli("restore", dest, "--data-dir", tmp_path / "target")

    def listed(rel: str) -> dict[str, object]:
        data = (dest / rel).read_bytes()
        return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    # a path climbing out of the backup (and so out of the new data dir at restore)
    (dest / "lake" / "events").mkdir(parents=True, exist_ok=True)
    (dest / "evil").write_text("x")
    escaping = tamper(lambda m: m["files"].update({"lake/events/../../../evil": listed("evil")}))
    assert escaping.returncode == 2 and "not a path inside the backup" in escaping.stderr
    (dest / "evil").unlink()
    # a file the manifest does not list, such as a symbolic link
    (dest / "lake" / "events" / "link").symlink_to(tmp_path)
    unlisted = tamper(lambda m: None)
    assert unlisted.returncode == 2 and "not a plain file" in unlisted.stderr
    (dest / "lake" / "events" / "link").unlink()
    # schema.sql is run by IMPORT DATABASE: a statement writing elsewhere is refused
    schema = dest / "duckdb" / "schema.sql"
    schema.write_text(schema.read_text() + f"\nCOPY (SELECT 42) TO '{tmp_path / 'planted.csv'}';\n")
    planted = tamper(lambda m: m["files"].update({"duckdb/schema.sql": listed("duckdb/schema.sql")}))
    assert planted.returncode == 2 and "cannot be imported" in planted.stderr
    assert not (tmp_path / "planted.csv").exists() and not (tmp_path / "target").exists()
    schema.write_text(
        schema.read_text().replace(f"\nCOPY (SELECT 42) TO '{tmp_path / 'planted.csv'}';\n", "")
    )
    # the lake's manifest is data too: a row whose type climbs out of the lake never becomes a path
    manifest_table = next((dest / "duckdb").glob("lake_files.*"))
    con = duckdb.connect()
    tampered = tmp_path / f"tampered{manifest_table.suffix}"
    con.execute(
        f"COPY (SELECT * FROM '{manifest_table}' UNION ALL BY NAME SELECT DATE '2026-12-01' AS day, "
        "'../../../../outside' AS type, 1 AS generation, 0::BIGINT AS rows, now() AS moved_at) "
        f"TO '{tampered}'"
    )
    con.close()
    shutil.move(tampered, manifest_table)
    rel = str(manifest_table.relative_to(dest))
    climbing = tamper(
        lambda m: m["files"].update({rel: listed(rel), "duckdb/schema.sql": listed("duckdb/schema.sql")})
    )
    assert climbing.returncode == 2 and "names files no lake holds" in climbing.stderr
    assert "../../../../outside" in climbing.stderr and not (tmp_path / "target").exists()
