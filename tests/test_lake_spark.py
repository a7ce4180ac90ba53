"""The Parquet lake read by a real distributed engine: PySpark (local mode, the machine's JVM)
computes the same daily p95 as numpy, as the API's exact read, and, within the stated error,
as the API's rollups. PySpark is the `spark` extra (`make test` installs it, `make run` not);
the test is in `make test-slow`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

try:  # the `spark` extra, which `make test` installs
    from pyspark import SparkContext
    from pyspark.sql import SparkSession
except ImportError as missing:
    raise ImportError(
        "pyspark: install the spark extra (`.tools/bin/uv sync --extra dev --extra spark`)"
    ) from missing

from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.server import LOCAL

# Importing pyspark.sql says pandas 3 is not fully supported: this test uses no pandas.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
DAYS = [TODAY - timedelta(days=n) for n in (3, 2, 1)]  # closed UTC days, well within raw retention
CUSTOMERS = {"acme": 200, "globex": 120}  # render events per customer and day
# Spark's logging at ERROR only (its INFO and WARN chatter would fill the captured stderr); the
# JVM's and Spark's three lines at startup are printed whatever the level.
LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def start_spark(scratch: Path) -> SparkSession:
    """A one-machine Spark: local[2], loopback only, no UI, UTC, its files under `scratch`."""
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "log4j2.properties").write_text(LOG4J2)
    return (
        SparkSession.builder.master("local[2]")
        .appName("widget-monitor-lake")
        .config("spark.driver.memory", "512m")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")  # `ts` is an instant: its day is the UTC day
        .config("spark.local.dir", str(scratch / "local"))
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config(
            "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={scratch / 'log4j2.properties'}"
        )
        .getOrCreate()
    )


def spark_daily_p95(spark: SparkSession, lake: Path) -> dict[date, tuple[int, float]]:
    """Per UTC day of `ts`: the render events and their exact p95 (docs/lake.md, "Reading it with Spark")."""
    events = spark.read.option("basePath", str(lake)).parquet(str(lake / "day=*"))
    events.createOrReplaceTempView("events")
    rows = spark.sql(
        """
        SELECT to_date(ts) AS utc_day, count(*) AS events, percentile(render_time, 0.95) AS p95
        FROM events WHERE type = 'render' GROUP BY 1 ORDER BY 1
        """
    ).collect()
    return {row.utc_day: (row.events, row.p95) for row in rows}


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """One SparkSession for the module; its JVM is gone when the module's tests are done."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # the JVM's own address: no lookup of the host's name
        session = start_spark(tmp_path_factory.mktemp("spark"))
    gateway = session.sparkContext._gateway
    yield session
    session.stop()
    # stop() leaves the JVM running for a next session of this interpreter; end it here:
    # it exits when its stdin (a pipe from this process) closes.
    gateway.shutdown()
    gateway.proc.stdin.close()
    gateway.proc.wait(timeout=30)
    SparkContext._gateway = SparkContext._jvm = None


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app in-process, its rollups and lake export run by hand."""
    app = create_app(settings.model_copy(update={"rollup_interval_s": 0, "lake_export_interval_s": 0}))
    with TestClient(base_url=LOCAL, app=app) as test_client:
        yield test_client


def post_days(client: TestClient) -> dict[date, np.ndarray]:
    """Render events over DAYS from two customers, at random moments of each day and at both of its
    ends; the values per day."""
    rng = np.random.default_rng(20_240_611)
    posted: dict[date, np.ndarray] = {}
    for n, day in enumerate(DAYS):
        values = []
        for customer, count in CUSTOMERS.items():
            render_ms = rng.lognormal(2.0 + 0.2 * n, 0.5, count).round(2)
            at_ms = day.timestamp() * 1000 + np.sort(rng.integers(0, 86_400_000, count))
            at_ms[[0, -1]] = day.timestamp() * 1000 + np.array([0, 86_399_999])  # midnight, and just before
            body = [
                {
                    "type": "render",
                    "metric": {
                        "renderTime": float(v),
                        "customerId": customer,
                        "widgetVersion": "2.0",
                        "timestamp": float(t),
                    },
                }
                for v, t in zip(render_ms, at_ms, strict=True)
            ]
            answer = client.post("/api/monitoring/widget", json=body)
            assert answer.status_code == 200 and answer.json()["stored"] == count, answer.text
            values.append(render_ms)
        posted[day.date()] = np.concatenate(values)
    return posted


def api_daily_p95(client: TestClient, **extra: str) -> dict[str, Any]:
    params = {
        "metric": "render.renderTime",
        "stat": "p95",
        "bucket": "1d",
        "from": DAYS[0].isoformat(),
        "to": TODAY.isoformat(),
        **extra,
    }
    answer = client.get("/api/monitoring/widget/timeseries", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def by_day(body: dict[str, Any]) -> dict[date, tuple[int, float]]:
    return {datetime.fromisoformat(p["t"]).date(): (p["events"], p["value"]) for p in body["points"]}


def test_spark_reads_the_lake_and_gets_the_apis_daily_p95(client: TestClient, spark: SparkSession) -> None:
    posted = post_days(client)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    while runtime.roll_up().rolled:  # 48 hours a run
        pass
    assert runtime.rollups.pending == 0  # every hour posted has closed
    exported = runtime.export_lake()
    assert sorted(p.day for p in exported) == sorted(posted)

    in_spark = spark_daily_p95(spark, runtime.lake_dir)
    assert sorted(in_spark) == sorted(posted)  # the UTC days, no event shifted across midnight
    rolled, exact = api_daily_p95(client), api_daily_p95(client, exact="true")
    assert (rolled["source"], exact["source"]) == ("rollup", "raw")
    bound = rolled["errorBound"]
    assert 0 < bound < 0.01
    for day, values in posted.items():
        events, p95 = in_spark[day]
        assert events == len(values) == by_day(rolled)[day][0] == by_day(exact)[day][0]
        # Spark's exact percentile interpolates linearly between ranks, as numpy's default does
        assert p95 == pytest.approx(float(np.percentile(values, 95)), rel=1e-9, abs=0)
        assert by_day(exact)[day][1] == pytest.approx(p95, rel=1e-9, abs=0)
        assert by_day(rolled)[day][1] == pytest.approx(p95, rel=bound, abs=0)

    # the hive partition column agrees with the day of `ts`
    days = spark.read.parquet(str(runtime.lake_dir)).selectExpr("day", "to_date(ts) AS utc_day")
    assert days.where("day <> utc_day").count() == 0
    assert days.count() == sum(len(v) for v in posted.values())
