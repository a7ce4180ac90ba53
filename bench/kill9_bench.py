"""kill -9 at random moments, round after round on one data dir: no acknowledged event is
lost, and none is stored twice when a client resends it with the same eventId.

    .venv/bin/python bench/kill9_bench.py            # 100 rounds, 6 client threads, seed 1
    .venv/bin/python bench/kill9_bench.py --rounds 30 --threads 4 --seed 7 --data-dir /tmp/wm-kill9

Each round starts `widget-monitor serve` on the same data dir (its history accumulates,
as a deployment's does across restarts) and `--threads` clients post batches of 1, 20 or
1000 events of all nine types, every event with an eventId of its own. The server is
killed with SIGKILL at a seeded random moment:

- mostly 0.2-2 s after /healthz answers, while the clients post;
- in a round that starts with the WAL close to its checkpoint (64 MB), as soon as the
  checkpoint starts writing the database file (capped at `--aim-cap` seconds);
- now and then during start-up, before /healthz answers (recovery killed in turn).

A batch answered 2xx is acknowledged. A batch without an answer (in flight, or posted to
the dead server) is resent once the next round's server is up, with the same eventIds,
as the SDK resends; so is a share of the acknowledged batches (a client that lost the
answer). Every answer is checked on the spot:

- a new batch: every event stored (none taken for a duplicate);
- a resent acknowledged batch: every event a duplicate (one stored again was lost);
- a resent unanswered batch: all of it stored (not committed before the kill) or none
  of it (committed), never a part (one transaction).

After the last round the server starts once more for the last resends and is stopped by
pid (SIGTERM); then the DuckDB file is opened read-only: every acknowledged eventId must
be there exactly once, and nothing else of this run. Exits 1 on any loss or double
count, listing the eventIds.

Every server runs with its bytecode cached in the bench's temp dir (PYTHONPYCACHEPREFIX,
filled by one start on a scratch dir before round 1), so that restart times are those of
an installed deployment even where PYTHONDONTWRITEBYTECODE is set. Every process started
is stopped by pid; the server's own children (decoder, multiprocessing resource tracker)
must exit with it, and the bench checks that none is left.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
import pyarrow as pa
from bodies import ID_MARKER, batch_bodies, single_bodies
from ports import free_port

from analytics.storage.store import CHECKPOINT_BYTES, DB_FILENAME
from widget_monitor.processes import stop_by_pid

REPO = Path(__file__).resolve().parents[1]
PATH = "/api/monitoring/widget"
SIZES = (1, 20, 1000)  # events per batch: a widget's single event, an SDK batch, a backlog flush
WEIGHTS = (45, 40, 15)
TEMPLATES_PER_SIZE = 4
HTTP_TIMEOUT_S = 30.0  # a commit waits behind a checkpoint (about a second on 2 busy cores)
POLL_S = 0.003  # how often the data dir's files are looked at while a round runs
READY_TIMEOUT_S = 180.0


class BenchError(RuntimeError):
    """The bench itself went wrong (its own batch refused, a server that does not start)."""


# ---- clients -----------------------------------------------------------------------------


@dataclass(slots=True)
class Batch:
    prefix: str  # its events' eventIds are f"{prefix}-{k}", k in range(size)
    size: int
    template: str  # the body, with ID_MARKER for the prefix (shared: a batch holds no body)
    acked: bool = False

    def body(self) -> bytes:
        return self.template.replace(ID_MARKER, self.prefix).encode()

    def event_ids(self) -> list[str]:
        return [f"{self.prefix}-{k}" for k in range(self.size)]


@dataclass
class Tally:
    """What one client sent and was answered (read by the main thread between rounds)."""

    new_batches: int = 0
    new_events: int = 0
    acked_events: int = 0
    resent_batches: int = 0
    resent_events: int = 0
    resent_acked: int = 0  # resends of acknowledged batches: all duplicates
    resent_found_committed: int = 0  # resends of unanswered batches committed before the kill
    resent_stored_now: int = 0  # ... and of those that were not
    non_2xx: int = 0
    lost_by_answer: int = 0  # acknowledged events that a resend stored again (so were missing)
    problems: list[str] = field(default_factory=list)


class Client:
    """One widget's sender: posts batches, remembers those to resend after a restart."""

    def __init__(self, index: int, seed: int, run: str, templates: dict[int, list[str]]) -> None:
        self.index = index
        self.rng = random.Random(f"{seed}/{index}")
        self.run = run
        self.templates = templates
        self.pending: list[Batch] = []  # resent at the next start, in order
        self.acked: list[Batch] = []  # every batch acknowledged, once
        self.tally = Tally()
        self.resend_acked_share = 0.0
        self.error: BaseException | None = None
        self.first_answer: float | None = None  # this round's first 2xx (time.monotonic())
        # one for the whole run: a new client costs ~10 ms of CPU (its TLS context), which
        # six threads starting at once after a restart would pay while the server warms up
        self.http = httpx.Client(timeout=HTTP_TIMEOUT_S, headers={"Content-Type": "application/json"})

    def close(self) -> None:
        self.http.close()

    def run_round(self, url: str, round_no: int, stop: threading.Event, *, new: bool) -> None:
        try:
            self._run_round(url, round_no, stop, new=new)
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def _run_round(self, url: str, round_no: int, stop: threading.Event, *, new: bool) -> None:
        todo, self.pending = self.pending, []
        self.first_answer = None
        target = url + PATH
        for i, batch in enumerate(todo):
            self.tally.resent_batches += 1
            self.tally.resent_events += batch.size
            if not self._send(target, batch, resend=True):
                self.pending += todo[i + 1 :]
                return
        n = 0
        while new and not stop.is_set():
            batch = self._new_batch(round_no, n)
            n += 1
            self.tally.new_batches += 1
            self.tally.new_events += batch.size
            if not self._send(target, batch, resend=False):
                return
            if batch.acked and self.rng.random() < self.resend_acked_share:
                self.pending.append(batch)  # its answer "lost": resent after the restart

    def _new_batch(self, round_no: int, n: int) -> Batch:
        size = self.rng.choices(SIZES, WEIGHTS)[0]
        prefix = f"{self.run}-{round_no}-{self.index}-{n}"
        return Batch(prefix, size, self.rng.choice(self.templates[size]))

    def _send(self, target: str, batch: Batch, *, resend: bool) -> bool:
        """Post the batch and check the answer; False once the server is gone."""
        try:
            answer = self.http.post(target, content=batch.body())
        except httpx.TransportError:  # killed mid-request, or before it: no answer
            self.pending.append(batch)
            return False
        if not answer.is_success:  # nothing stored (503 overloaded, ...): resent later
            self.tally.non_2xx += 1
            self.pending.append(batch)
            return True
        if self.first_answer is None:
            self.first_answer = time.monotonic()
        result = answer.json()
        if result["accepted"] != batch.size or result["rejected"]:
            raise BenchError(
                f"the bench's own batch {batch.prefix} was not accepted whole: {answer.text[:300]}"
            )
        stored, duplicates = int(result["stored"]), int(result["duplicates"])
        tally = self.tally
        if not resend:
            if stored != batch.size:  # (the final check finds them missing, and counts them lost)
                tally.problems.append(
                    f"new batch {batch.prefix}-*: {duplicates} of its {batch.size} fresh eventIds "
                    "answered as duplicates (not stored)"
                )
        elif batch.acked:
            tally.resent_acked += 1
            if duplicates != batch.size:
                tally.lost_by_answer += stored
                tally.problems.append(
                    f"acknowledged batch {batch.prefix}-* resent: {stored} of its {batch.size} "
                    "events stored again, so they had been lost"
                )
            return True
        elif stored == 0:
            tally.resent_found_committed += 1
        elif stored == batch.size:
            tally.resent_stored_now += 1
        else:
            tally.problems.append(
                f"unanswered batch {batch.prefix}-* resent: {stored} of its {batch.size} events "
                "stored, the rest duplicates: the kill left part of one commit"
            )
        batch.acked = True
        tally.acked_events += batch.size
        self.acked.append(batch)
        return True


def make_templates(now_ms: int) -> dict[int, list[str]]:
    """Bodies with ID_MARKER where each eventId's unique part goes, per batch size."""
    templates = {1: single_bodies(now_ms, count=TEMPLATES_PER_SIZE)}
    for seed, size in enumerate(s for s in SIZES if s > 1):
        templates[size] = batch_bodies(now_ms, size, count=TEMPLATES_PER_SIZE, seed=10 + seed)
    return templates


# ---- the server and its files ------------------------------------------------------------


class Server:
    """`widget-monitor serve` on the data dir, on a free port of its own."""

    def __init__(self, data_dir: Path, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "widget_monitor.cli", "serve", "--data-dir", str(data_dir)]
        argv += ["--port", str(self.port), "--log-level", "warning"]
        with log_path.open("ab") as log:
            self.spawned = time.monotonic()
            self.process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, probe: httpx.Client) -> tuple[float, float]:
        """Seconds from spawn to /healthz answering 200, and the CPU seconds the server and
        its children used until then (a figure that a busy machine inflates much less).

        Polls every 20 ms with one client (a new httpx client per poll, as
        `wait_until_ready` makes, costs the bench ~10 ms of CPU each: its TLS context).
        """
        deadline = self.spawned + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the server exited with {self.process.returncode} before it was ready")
            with suppress(httpx.TransportError):
                if probe.get(f"{self.url}/healthz").status_code == 200:
                    return time.monotonic() - self.spawned, cpu_seconds(process_tree(self.process.pid))
            time.sleep(0.02)
        raise BenchError(f"the server was not ready within {READY_TIMEOUT_S:g} s")

    def children(self) -> set[int]:
        """The server's descendants now (decoder, resource tracker)."""
        return set(process_tree(self.process.pid)) - {self.process.pid}

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        with suppress(FileNotFoundError):
            for task in os.listdir(f"/proc/{current}/task"):
                with suppress(FileNotFoundError):
                    todo += [
                        int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split()
                    ]
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (Linux /proc)."""
    total = 0.0
    for pid in pids:
        with suppress(FileNotFoundError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def exited(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie has exited; only its new parent's wait() is missing


class CheckpointWatch:
    """Whether DuckDB is checkpointing: between checkpoints only the WAL grows; a checkpoint
    writes the database file, then removes the WAL."""

    def __init__(self, data_dir: Path) -> None:
        self.db = data_dir / DB_FILENAME
        self.wal = data_dir / f"{DB_FILENAME}.wal"
        self.base = self._db_signature()
        self.wal_bytes = self.current_wal_bytes()
        self.completed = 0

    def poll(self) -> bool:
        """True while a checkpoint is under way (the file written, the WAL not yet removed)."""
        wal = self.current_wal_bytes()
        if wal < self.wal_bytes:  # removed (or truncated): a checkpoint completed
            self.completed += 1
            self.base = self._db_signature()
        self.wal_bytes = wal
        return self._db_signature() != self.base

    def _db_signature(self) -> tuple[int, int]:
        try:
            st = self.db.stat()
        except FileNotFoundError:
            return (0, 0)
        return (st.st_size, st.st_mtime_ns)

    def current_wal_bytes(self) -> int:
        try:
            return self.wal.stat().st_size
        except FileNotFoundError:
            return 0


# ---- the rounds --------------------------------------------------------------------------


@dataclass
class RoundResult:
    kind: str  # "random", "aimed", "startup", "final"
    restart_s: float | None  # spawn to ready (None: killed before ready)
    wal_mb_at_start: float
    in_checkpoint: bool = False
    alive_s: float = 0.0  # ready to kill
    first_answer_s: float | None = None  # ready to the first 2xx (None: none before the kill)
    restart_cpu_s: float | None = None  # CPU time of the server and its children until ready


@dataclass
class Run:
    args: argparse.Namespace
    data_dir: Path
    work: Path
    env: dict[str, str]
    clients: list[Client]
    rng: random.Random
    results: list[RoundResult] = field(default_factory=list)
    children: set[int] = field(default_factory=set)  # the children of the current server
    dying: list[tuple[float, set[int]]] = field(default_factory=list)  # (killed at, children)
    leftovers: set[int] = field(default_factory=set)  # still running 5 s after their server
    checkpoints_completed: int = 0
    loads: list[float] = field(default_factory=list)  # 1-minute load average after each round
    server: Server | None = None  # the latest one started
    probe: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=1.0))

    @property
    def log_path(self) -> Path:
        return self.work / "server.log"

    def acked_events(self) -> int:
        return sum(c.tally.acked_events for c in self.clients)

    def round(self, round_no: int, *, final: bool = False) -> RoundResult:
        args = self.args
        watch = CheckpointWatch(self.data_dir)
        wal_mb = watch.wal_bytes / 1_048_576
        ready_before = [r.restart_s for r in self.results if r.restart_s is not None]
        startup_kill = not final and bool(ready_before) and self.rng.random() < args.startup_kill_share
        delay = self.rng.uniform(args.min_delay, args.max_delay)
        server = self.server = Server(self.data_dir, self.env, self.log_path)
        if startup_kill:  # somewhere in start-up: WAL replay, the id reload, the decoder's spawn
            time.sleep(self.rng.uniform(0.05, 0.95) * statistics.median(ready_before))
            self.children |= server.children()
            server.kill()
            self.server_gone()
            return RoundResult("startup", None, wal_mb)
        restart_s, restart_cpu_s = server.wait_ready(self.probe)
        ready = time.monotonic()
        self.children |= server.children()
        watch = CheckpointWatch(self.data_dir)
        # not twice in a row: a checkpoint cut short at every start would never complete
        after_aimed = bool(self.results) and self.results[-1].kind == "aimed"
        aimed = not final and not after_aimed and watch.wal_bytes >= args.aim_wal_mb * 1_048_576
        stop = threading.Event()
        threads = [
            threading.Thread(target=c.run_round, args=(server.url, round_no, stop), kwargs={"new": not final})
            for c in self.clients
        ]
        for t in threads:
            t.start()
        if final:  # the last resends, then a clean stop
            for t in threads:
                t.join()
            self.children |= server.children()
            stop_by_pid(server.process)
            self.server_gone()
            watch.poll()
            self.checkpoints_completed += watch.completed
            return RoundResult(
                "final", restart_s, wal_mb, alive_s=time.monotonic() - ready, restart_cpu_s=restart_cpu_s
            )
        deadline = ready + (args.aim_cap if aimed else delay)
        kill_at: float | None = None
        while True:
            now = time.monotonic()
            checkpointing = watch.poll()
            if aimed and checkpointing and kill_at is None:  # a little way into the checkpoint
                kill_at = now + self.rng.uniform(0, 0.3)
            if now >= deadline or (kill_at is not None and now >= kill_at):
                break
            time.sleep(POLL_S)
        self.children |= server.children()
        checkpointing, wal_before = watch.poll(), watch.wal_bytes
        server.kill()
        self.server_gone()
        # the checkpoint was cut short if the WAL is still there, as big as before the kill
        in_checkpoint = checkpointing and watch.current_wal_bytes() >= wal_before > 0
        alive_s = time.monotonic() - ready
        stop.set()
        for t in threads:
            t.join()
        watch.poll()
        self.checkpoints_completed += watch.completed
        answers = [c.first_answer for c in self.clients if c.first_answer is not None]
        first = min(answers) - ready if answers else None
        kind = "aimed" if aimed else "random"
        return RoundResult(kind, restart_s, wal_mb, in_checkpoint, alive_s, first, restart_cpu_s)

    def server_gone(self) -> None:
        """The current server has exited: its children must follow (checked 5 s later)."""
        self.dying.append((time.monotonic(), self.children))
        self.children = set()
        still = []
        for gone_at, pids in self.dying:
            if time.monotonic() - gone_at < 5:
                still.append((gone_at, pids))
            else:
                self.leftovers |= {pid for pid in pids if not exited(pid)}
        self.dying = still

    def warm_bytecode(self) -> None:
        """One start and stop on a scratch dir: the servers' bytecode cached for round 1."""
        server = self.server = Server(self.work / "warm-up", self.env, self.log_path)
        try:
            server.wait_ready(self.probe)
            self.children |= server.children()
        finally:
            stop_by_pid(server.process)
            self.server_gone()

    def check_children(self, timeout_s: float = 10) -> list[int]:
        """Every server child still running `timeout_s` after the last server exited (or 5 s
        after its own server): killed by pid, and returned."""
        pids = self.leftovers | self.children | {pid for _, group in self.dying for pid in group}
        deadline = time.monotonic() + timeout_s
        while any(not exited(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = sorted(self.leftovers | {pid for pid in pids if not exited(pid)})
        for pid in left:
            with suppress(ProcessLookupError):
                if not exited(pid):
                    os.kill(pid, signal.SIGKILL)
        self.leftovers, self.children, self.dying = set(), set(), []
        return left


def verify_store(data_dir: Path, run: str, clients: list[Client]) -> dict[str, object]:
    """Open the DuckDB file read-only: each acknowledged eventId exactly once, nothing else."""
    acked = [b for c in clients for b in c.acked]
    table = pa.table({"prefix": [b.prefix for b in acked], "size": [b.size for b in acked]})
    with duckdb.connect(str(data_dir / DB_FILENAME), read_only=True) as con:
        con.register("acked", table)
        con.execute(
            "CREATE TEMP TABLE expected AS SELECT prefix || '-' || k AS event_id "
            "FROM (SELECT prefix, unnest(range(size)) AS k FROM acked)"
        )
        like = [f"{run}-%"]
        con.execute(
            "CREATE TEMP TABLE ours AS SELECT event_id, count(*) AS copies FROM events "
            "WHERE event_id LIKE ? GROUP BY event_id",
            like,
        )
        expected = con.execute("SELECT count(*) FROM expected").fetchone()[0]  # type: ignore[index]
        missing = con.execute(
            "SELECT event_id FROM expected ANTI JOIN ours USING (event_id) ORDER BY event_id"
        ).fetchall()
        twice = con.execute("SELECT event_id, copies FROM ours WHERE copies > 1 ORDER BY event_id").fetchall()
        unexpected = con.execute(
            "SELECT event_id FROM ours ANTI JOIN expected USING (event_id) ORDER BY event_id"
        ).fetchall()
        stored_rows = con.execute("SELECT sum(copies) FROM ours").fetchone()[0]  # type: ignore[index]
        total_rows = con.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
    return {
        "expected": int(expected),
        "missing": [r[0] for r in missing],
        "twice": [(r[0], int(r[1])) for r in twice],
        "unexpected": [r[0] for r in unexpected],
        "stored_rows": int(stored_rows or 0),
        "total_rows": int(total_rows),
    }


def damage_folders(data_dir: Path) -> set[str]:
    """The folders in which the server keeps damaged files it found at start (store_damage)."""
    damaged = data_dir / "damaged"
    return {p.name for p in damaged.iterdir() if p.is_dir()} if damaged.is_dir() else set()


def server_complaints(log_path: Path, data_dir: Path, damaged_before: set[str]) -> dict[str, object]:
    """What the servers logged at ERROR level, and the damage reports they filed, this run."""
    errors = []
    with suppress(FileNotFoundError):
        errors = [line for line in log_path.read_text(errors="replace").splitlines() if " ERROR " in line]
    return {"error_lines": errors, "damage_reports": sorted(damage_folders(data_dir) - damaged_before)}


# ---- main --------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    # SIGTERM ends the bench through its `finally`: the running server is stopped by pid
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="widget-monitor-kill9-"))
    data_dir = args.data_dir.resolve() if args.data_dir else work / "data"
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(work / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    run_id = f"k9-{args.seed}-{int(time.time() * 1000):x}"  # unique even on a reused --data-dir
    templates = make_templates(int(time.time() * 1000))
    clients = [Client(i, args.seed, run_id, templates) for i in range(args.threads)]
    for c in clients:
        c.resend_acked_share = args.resend_acked_share
    run = Run(args, data_dir, work, env, clients, random.Random(args.seed))
    damaged_before = damage_folders(data_dir)
    print(
        f"kill -9 bench: {args.rounds} rounds, {args.threads} clients, seed {args.seed}, data dir {data_dir}"
    )
    ok, left = False, []
    try:
        run.warm_bytecode()
        for round_no in range(1, args.rounds + 2):
            acked_before = run.acked_events()
            result = run.round(round_no, final=round_no > args.rounds)
            run.results.append(result)
            run.loads.append(os.getloadavg()[0])
            errors = [c.error for c in clients if c.error is not None]
            if errors:
                raise errors[0]
            print(progress(run, round_no, result, acked_before, started), flush=True)
        unsent = [b.prefix for c in clients for b in c.pending]
        left = run.check_children()
        report = verify_store(data_dir, run_id, clients)
        report |= server_complaints(run.log_path, data_dir, damaged_before)
        ok = print_summary(run, report, started, left)
        if unsent:
            print(f"BENCH ERROR: batches still unanswered after the final start: {unsent[:20]}")
            ok = False
    finally:
        if run.server is not None:
            stop_by_pid(run.server.process)  # (after an error: it may still run)
            run.server_gone()
        run.probe.close()
        for c in clients:
            c.close()
        left = left or run.check_children()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
            if args.data_dir:
                print(f"data dir kept: {data_dir}")
        else:
            print(f"kept for a look: {work} (server log: {run.log_path}, data dir: {data_dir})")
    if left:
        print(f"server children still running after their server (killed now by pid): {left}")
    return 0 if ok and not left else 1


def progress(run: Run, round_no: int, result: RoundResult, acked_before: int, started: float) -> str:
    args = run.args
    acked = run.acked_events()
    what = {
        "random": f"killed {result.alive_s:.2f} s after ready",
        "aimed": f"killed {result.alive_s:.2f} s after ready, aimed at a checkpoint",
        "startup": "killed during start-up",
        "final": "last resends, stopped by SIGTERM",
    }[result.kind]
    if result.in_checkpoint:
        what += " (during a checkpoint)"
    if result.kind in ("random", "aimed"):
        what += (
            ", no answer before it"
            if result.first_answer_s is None
            else f", first answer {result.first_answer_s:.2f} s after ready"
        )
    restart = (
        ""
        if result.restart_s is None
        else f"ready in {result.restart_s:.2f} s ({result.restart_cpu_s:.1f} s CPU), "
    )
    label = f"round {round_no}/{args.rounds}" if result.kind != "final" else "final start"
    return (
        f"{label}: {restart}WAL {result.wal_mb_at_start:.0f} MB at start, {what}; "
        f"acked {acked:,} events (+{acked - acked_before:,}), "
        f"{sum(len(c.pending) for c in run.clients)} batches to resend, "
        f"elapsed {time.monotonic() - started:.0f} s"
    )


def print_summary(run: Run, report: dict[str, object], started: float, left: list[int]) -> bool:
    args = run.args
    clients = run.clients
    tallies = [c.tally for c in clients]

    def total(name: str) -> int:
        return sum(getattr(t, name) for t in tallies)

    problems = [p for t in tallies for p in t.problems]
    missing: list[str] = report["missing"]  # type: ignore[assignment]
    twice: list[tuple[str, int]] = report["twice"]  # type: ignore[assignment]
    unexpected: list[str] = report["unexpected"]  # type: ignore[assignment]
    lost = len(missing) + total("lost_by_answer")
    killed = [r for r in run.results if r.kind != "final"]
    restarted = [r for r in run.results[1:] if r.restart_s is not None]
    restarts = [r.restart_s for r in restarted if r.restart_s is not None]
    restart_cpu = [r.restart_cpu_s for r in restarted if r.restart_cpu_s is not None]
    cold, cold_cpu = run.results[0].restart_s, run.results[0].restart_cpu_s
    first_answers = [r.first_answer_s for r in killed if r.first_answer_s is not None]
    error_lines: list[str] = report["error_lines"]  # type: ignore[assignment]
    damage_reports: list[str] = report["damage_reports"]  # type: ignore[assignment]
    complaints = f"{len(error_lines)}; {len(damage_reports)}"
    elapsed = time.monotonic() - started
    in_ckpt = sum(r.in_checkpoint for r in killed)
    aimed = [r for r in killed if r.kind == "aimed"]

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) >= 2 else values[0]

    def spread(values: list[float]) -> str:
        if not values:
            return "n/a"
        return (
            f"{statistics.median(values):.2f} / {p95(values):.2f} / {max(values):.2f} s "
            f"(first 10: {statistics.median(values[:10]):.2f} s, "
            f"last 10: {statistics.median(values[-10:]):.2f} s)"
        )

    rows = [
        ("rounds, each ended by kill -9", f"{len(killed)}"),
        ("… 0.2–2 s after ready, at random", f"{sum(r.kind == 'random' for r in killed)}"),
        (f"… aimed at a checkpoint (WAL ≥ {args.aim_wal_mb:g} MB at start)", f"{len(aimed)}"),
        ("… during start-up (before /healthz)", f"{sum(r.kind == 'startup' for r in killed)}"),
        ("kills that cut a checkpoint short (file written, WAL not yet removed)", f"{in_ckpt}"),
        ("checkpoints completed during the run", f"{run.checkpoints_completed}"),
        (
            "client threads; batch sizes (weights)",
            f"{args.threads}; " + ", ".join(f"{s} ({w})" for s, w in zip(SIZES, WEIGHTS, strict=True)),
        ),
        ("new batches / events posted", f"{total('new_batches'):,} / {total('new_events'):,}"),
        ("events acknowledged (2xx)", f"{total('acked_events'):,}"),
        (
            "batches / events resent after a restart",
            f"{total('resent_batches'):,} / {total('resent_events'):,}",
        ),
        (
            "… unanswered, committed before the kill (answered: all duplicates)",
            f"{total('resent_found_committed'):,}",
        ),
        ("… unanswered, not committed (answered: all stored)", f"{total('resent_stored_now'):,}"),
        ("… acknowledged already (answer lost; answered: all duplicates)", f"{total('resent_acked'):,}"),
        ("non-2xx answers (resent)", f"{total('non_2xx'):,}"),
        ("**lost** (acknowledged, not in the store once)", f"**{lost}**"),
        ("**stored twice**", f"**{len(twice)}**"),
        ("stored, never acknowledged", f"{len(unexpected)}"),
        (
            "events in the store at the end (this run / all)",
            f"{report['stored_rows']:,} / {report['total_rows']:,}",
        ),
        (
            "cold start, round 1 (empty data dir), to /healthz: wall / CPU",
            "n/a" if cold is None or cold_cpu is None else f"{cold:.2f} s / {cold_cpu:.2f} s",
        ),
        ("restart to /healthz, median / p95 / max", spread(restarts)),
        ("… CPU time of the server and its children until then", spread(restart_cpu)),
        ("first 2xx after ready, median / p95 / max", spread(first_answers)),
        ("server children left running after their server", f"{len(left)}"),
        ("server log lines at ERROR level; damage reports filed (data dir `damaged/`)", complaints),
        ("total time", f"{elapsed:.0f} s"),
    ]
    print()
    print("| kill -9 bench | |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print()
    print(
        f"On {os.cpu_count()} cores ({cpu_model()}), load average {statistics.median(run.loads):.1f} "
        f"(median of the rounds' 1-minute figures; max {max(run.loads):.1f})."
    )
    print("```bash")
    print(command_line(args))
    print("```")
    for line in dict.fromkeys(line.split(" ", 2)[-1] for line in error_lines[:5]):
        print(f"server ERROR: {line[:300]}")
    if damage_reports:
        print(f"damage reports in {run.data_dir / 'damaged'}: {damage_reports[:10]}")
    for p in problems[:20]:
        print(f"PROBLEM: {p}")
    if missing:
        print(f"LOST: {len(missing)} acknowledged eventIds not in the store, e.g. {missing[:20]}")
    if twice:
        print(f"STORED TWICE: {len(twice)} eventIds, e.g. {twice[:20]}")
    if unexpected:
        print(f"UNEXPECTED: {len(unexpected)} eventIds stored but never acknowledged, e.g. {unexpected[:20]}")
    if report["expected"] != total("acked_events"):
        print(
            f"BENCH ERROR: {report['expected']:,} expected ids for "
            f"{total('acked_events'):,} acknowledged events"
        )
        return False
    return not (problems or missing or twice or unexpected)


def cpu_model() -> str:
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def command_line(args: argparse.Namespace) -> str:
    command = ".venv/bin/python bench/kill9_bench.py"
    defaults = parse_args([])
    for name, value in vars(args).items():
        if value != getattr(defaults, name):
            command += f" --{name.replace('_', '-')} {shlex.quote(str(value))}"
    return command


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rounds", type=int, default=100, help="kills (default 100)")
    parser.add_argument("--threads", type=int, default=6, help="client threads (default 6)")
    parser.add_argument(
        "--seed", type=int, default=1, help="seeds the kill moments and the batches (default 1)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="kept afterwards (default: a temp dir, removed)"
    )
    parser.add_argument("--min-delay", type=float, default=0.2, help="earliest kill after ready, s")
    parser.add_argument("--max-delay", type=float, default=2.0, help="latest kill after ready, s")
    parser.add_argument(
        "--aim-wal-mb",
        type=float,
        default=CHECKPOINT_BYTES / 1_048_576 - 16,
        help="a round starting with at least this much WAL kills during the checkpoint (default 48)",
    )
    parser.add_argument("--aim-cap", type=float, default=5.0, help="an aimed round's kill at the latest, s")
    parser.add_argument(
        "--startup-kill-share", type=float, default=0.05, help="rounds killed during start-up"
    )
    parser.add_argument(
        "--resend-acked-share", type=float, default=0.03, help="acknowledged batches resent (answer lost)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
