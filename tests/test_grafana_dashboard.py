"""docs/grafana/widget-monitor-dashboard.json: every query parses and reads what GET /metrics serves.

No Grafana here. promtool (`check rules`) parses each panel's PromQL with the dashboard's
variables filled in as Grafana fills them; a real scrape of the app, after events of every
type, says which series and labels exist; and promtool's rule unit tests run the panels
over that scrape, so a panel that parses but selects nothing fails too.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from analytics.figures import figure_named
from analytics.ingest.events import EVENT_TYPES
from analytics.queries.health import DEGRADED, HEALTHY
from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.ingest_api.test_access import ADMIN, ADMIN_TOKEN
from tests.support.events import event
from tests.support.server import LOCAL

DASHBOARD = Path(__file__).parents[1] / "docs" / "grafana" / "widget-monitor-dashboard.json"
PROMTOOL = "/usr/bin/promtool"
WIDGET = "/api/monitoring/widget"
# What Grafana puts in place of each variable: "All" of a multi-value variable is its
# allValue (a regex), and the intervals are durations.
VALUES = {
    "customer": ".*",
    "version": ".*",
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "10m",
}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")

# -- reading the dashboard -------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    where: str  # "panel 7 (Render p95) A" or "variable customer"
    rule: str  # the recording rule's name
    expr: str  # as written, variables unsubstituted
    legend: str = ""
    labels: tuple[str, ...] = ()  # labels the query must find on its series (label_values)


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside rows (collapsed or not) included."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def queries(board: dict[str, Any]) -> list[Query]:
    """Every panel target's expression and every template variable's query."""
    found = []
    for panel in all_panels(board["panels"]):
        for target in panel.get("targets", []):
            where = f"panel {panel['id']} ({panel['title']}) {target['refId']}"
            rule = f"grafana:panel_{panel['id']}_{target['refId']}"
            legend = target.get("legendFormat", "")
            found.append(Query(where, rule, target["expr"], "" if legend == "__auto" else legend))
    for variable in board["templating"]["list"]:
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        # label_values(selector, label) is a Grafana call, not PromQL: check its selector
        call = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\s*\)\s*", text)
        assert call, f"variable {variable['name']}: not a label_values(selector, label) query: {text}"
        selector, label = call.groups()
        name = variable["name"]
        found.append(Query(f"variable {name}", f"grafana:variable_{name}", selector, labels=(label,)))
    return found


def substitute(expr: str, **chosen: str) -> str:
    """`expr` with every Grafana variable replaced by what Grafana sends: "All", or `chosen`."""
    values = VALUES | chosen

    def value(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        assert name in values, f"unknown Grafana variable ${name} in {expr}"
        return values[name]

    return VARIABLE.sub(value, expr)


# -- what an expression reads ----------------------------------------------------------------

TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
      | (?P<range>\[[^\]]*\])
      | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
      | (?P<op>=~|!~|!=|==|<=|>=|[{}(),=<>+\-*/%^])
      | (?P<space>\s+)""",
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
AGGREGATIONS = {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"}
AGGREGATIONS |= {"topk", "bottomk", "quantile", "count_values"}  # may be followed by `by (...)`
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}


@dataclass
class Selector:
    name: str
    matchers: dict[str, str] = field(default_factory=dict)  # label -> the value matched


@dataclass
class Reads:
    selectors: list[Selector] = field(default_factory=list)
    grouping: set[str] = field(default_factory=set)  # labels of by/without/on/ignoring/group_*


def tokens(expr: str) -> list[tuple[str, str]]:
    found, at = [], 0
    while at < len(expr):
        match = TOKEN.match(expr, at)
        assert match, f"cannot read PromQL at {expr[at:]!r}"
        if match.lastgroup != "space":
            found.append((match.lastgroup or "", match.group()))
        at = match.end()
    return found


def reads(expr: str) -> Reads:
    """The series selectors and grouping labels of a PromQL expression.

    >>> r = reads('sum by (le) (rate(a_bucket{x="1"}[5m])) / on (y) b')
    >>> [(s.name, s.matchers) for s in r.selectors], sorted(r.grouping)
    ([('a_bucket', {'x': '1'}), ('b', {})], ['le', 'y'])
    """
    out = Reads()
    toks = tokens(expr)
    i = 0

    def matchers(i: int, selector: Selector) -> int:
        """Read `{label op "value", ...}` from the `{` at i; the index after the `}`."""
        i += 1
        while toks[i][1] != "}":
            (_, label), (_, _op), (_, value) = toks[i : i + 3]
            selector.matchers[label] = value[1:-1]
            i += 3
            if toks[i][1] == ",":
                i += 1
        return i + 1

    while i < len(toks):
        kind, text = toks[i]
        following = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind == "ident" and text in GROUPING:
            i += 1
            if following == "(":
                i += 1
                while toks[i][1] != ")":
                    if toks[i][0] == "ident":
                        out.grouping.add(toks[i][1])
                    i += 1
                i += 1
        elif kind == "ident" and (following == "(" or text in AGGREGATIONS or text.lower() in KEYWORDS):
            i += 1  # a function or an aggregation, or an operator
        elif kind == "ident":
            selector = Selector(text)
            out.selectors.append(selector)
            i = matchers(i + 1, selector) if following == "{" else i + 1
        elif text == "{":
            selector = Selector("")
            i = matchers(i, selector)
            selector.name = selector.matchers.pop("__name__", "")
            out.selectors.append(selector)
        else:
            i += 1
    return out


def problems(query: Query, exposed: dict[str, set[str]]) -> list[str]:
    """What `query` reads that the scrape `exposed` ({series name: its labels}) does not serve."""
    found = []
    r = reads(query.expr)
    if not r.selectors:
        found.append("selects no series")
    labels: set[str] = set()
    for s in r.selectors:
        if s.name not in exposed:
            found.append(f"{s.name or '{...}'} is not a series of /metrics")
            continue
        labels |= exposed[s.name]
        found += [f"{s.name} has no label {label}" for label in s.matchers if label not in exposed[s.name]]
    used = r.grouping | set(re.findall(r"\{\{\s*(\w+)\s*\}\}", query.legend)) | set(query.labels)
    found += [f"no series it reads has a label {label}" for label in sorted(used - labels)]
    return [f"{query.where}: {p}" for p in found]


# -- a real scrape ---------------------------------------------------------------------------


def at_now(body: dict[str, Any], **common: Any) -> dict[str, Any]:
    """`body` stamped now: when it is sent, not when the suite was collected (health reads the
    last 5 minutes, and a full suite takes longer than that to reach this module)."""
    body["metric"].update(timestamp=time.time() * 1000, **common)
    return body


def acme_events() -> list[dict[str, Any]]:
    """Events whose shares are worked out by hand in the tests below (acme, 2.4.1)."""
    bodies = [
        *(event("render", renderTime=12.0) for _ in range(3)),
        event("render", renderTime=20.0),  # 3 of 4 within 16 ms
        *(event("persistence", success=True, dataLoss=False) for _ in range(3)),
        event("persistence", success=False, dataLoss=True),  # 3 of 4 succeed, 1 loses data
        event("navigation", dataPreserved=True),
        event("navigation", dataPreserved=False),  # the 2nd data-loss incident
        event("restoration"),
        event("scroll"),
        event("memory"),
        event("tabSync", success=False),
        event("api", success=True, cached=True),
        *(event("api", success=True, cached=False) for _ in range(2)),
        event("api", success=False),  # 1 of 4 calls fails
        event("bundle"),
    ]
    return [at_now(b, customerId="acme", widgetVersion="2.4.1") for b in bodies]


def new_key(client: TestClient, customer: str) -> dict[str, str]:
    created = client.post("/api/monitoring/keys", json={"customerId": customer}, headers=ADMIN)
    assert created.status_code == 201, created.text
    return {"key": created.json()["key"]}


@pytest.fixture(scope="module")
def metrics_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """GET /metrics of an app sent events of every type by two customers, each through its key."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        summary_cache_seconds=0,
        decoder_processes=0,
        lake_export_interval_s=0,
        admin_token=SecretStr(ADMIN_TOKEN),  # keys need one: the first key ends open mode
    )
    with TestClient(base_url=LOCAL, app=create_app(settings)) as client:
        assert client.get("/metrics", headers=ADMIN).status_code == 200  # counting starts here
        acme, globex = new_key(client, "acme"), new_key(client, "globex")
        wrong = at_now(event("render"), customerId="globex")  # refused: not the key's customer
        answer = client.post(WIDGET, params=acme, json=[*acme_events(), wrong])
        assert answer.status_code == 200, answer.text
        assert answer.json()["stored"] == len(acme_events())
        assert [r["index"] for r in answer.json()["rejected"]] == [len(acme_events())]
        bodies = [at_now(event(k), customerId="globex", widgetVersion="3.0.0") for k in EVENT_TYPES]
        answer = client.post(WIDGET, params=globex, json=bodies)
        assert answer.status_code == 200 and answer.json()["stored"] == len(EVENT_TYPES), answer.text
        scraped = client.get("/metrics", headers=ADMIN)  # as Prometheus, with a token
        assert scraped.status_code == 200, scraped.text
        return scraped.text


@pytest.fixture(scope="module")
def exposed(metrics_text: str) -> dict[str, set[str]]:
    """Every series name of the scrape, with the labels its samples carry."""
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


# -- the tests -------------------------------------------------------------------------------


def run_promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=60)


def test_every_query_parses_with_the_variables_filled_in(tmp_path: Path) -> None:
    found = queries(dashboard())
    rules = [{"record": q.rule, "expr": substitute(q.expr)} for q in found]
    assert len({r["record"] for r in rules}) == len(rules)
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "grafana", "rules": rules}]}, sort_keys=False))
    checked = run_promtool("check", "rules", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout


def test_promtool_would_refuse_a_broken_query(tmp_path: Path) -> None:
    """The check above can fail: an unbalanced parenthesis is a parse error."""
    path = tmp_path / "broken.rules.yml"
    broken = substitute("sum by (le) (rate(widget_monitor_render_time_seconds_bucket[$__rate_interval])")
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [{"record": "r:x", "expr": broken}]}]}))
    assert run_promtool("check", "rules", path).returncode != 0


def test_every_query_reads_series_and_labels_metrics_serves(exposed: dict[str, set[str]]) -> None:
    found = queries(dashboard())
    assert len(found) >= 15
    assert [p for q in found for p in problems(q, exposed)] == []


@pytest.mark.parametrize(
    ("expr", "legend", "expected"),
    [
        pytest.param(
            "rate(widget_monitor_render_time_second_bucket[5m])",
            "",
            ["widget_monitor_render_time_second_bucket is not a series of /metrics"],
            id="misspelt-metric",
        ),
        pytest.param(
            'sum(rate(widget_monitor_events_total{customer="acme"}[5m]))',
            "",
            ["widget_monitor_events_total has no label customer"],
            id="misspelt-matcher-label",
        ),
        pytest.param(
            "sum by (version) (rate(widget_monitor_events_total[5m]))",
            "{{customer}}",
            ["no series it reads has a label customer", "no series it reads has a label version"],
            id="misspelt-grouping-and-legend",
        ),
        pytest.param(
            "histogram_quantile(0.95, rate(widget_monitor_render_time_seconds[5m]))",
            "",
            ["widget_monitor_render_time_seconds is not a series of /metrics"],
            id="histogram-without-bucket",
        ),
    ],
)
def test_a_query_naming_what_metrics_lacks_is_reported(
    exposed: dict[str, set[str]], expr: str, legend: str, expected: list[str]
) -> None:
    assert problems(Query("q", "r:q", expr, legend), exposed) == [f"q: {p}" for p in expected]


def test_the_required_panels_exist() -> None:
    """Health, render p95, FPS, persistence success and API p95, each on its own series."""
    by_title = {p["title"]: p for p in all_panels(dashboard()["panels"])}
    required = {
        "Overall health": 'widget_monitor_health_score{category="overall"}',
        "Render p95": "histogram_quantile(0.95, sum by (le, customer_id, widget_version) "
        "(rate(widget_monitor_render_time_seconds_bucket",
        "Scroll FPS": "widget_monitor_scroll_avg_fps_sum",
        "Persistence success rate": "widget_monitor_persistence_success_total",
        "API p95": "histogram_quantile(0.95, sum by (le, customer_id, widget_version) "
        "(rate(widget_monitor_api_duration_seconds_bucket",
    }
    missing = [title for title in required if title not in by_title]
    assert missing == []
    for title, fragment in required.items():
        assert any(fragment in t["expr"] for t in by_title[title]["targets"]), title


def test_per_customer_series_are_filtered_by_the_variables(exposed: dict[str, set[str]]) -> None:
    """Every selector of a series with a customer (and version) label narrows it by $customer ($version)."""
    wanted = {"customer_id": "$customer", "widget_version": "$version"}
    unfiltered = []
    for q in queries(dashboard()):
        if q.where == "variable customer":
            continue  # lists the customers: it cannot be narrowed by itself
        for s in reads(q.expr).selectors:
            for label, variable in wanted.items():
                if q.where == "variable version" and label == "widget_version":
                    continue
                if label in exposed.get(s.name, set()) and s.matchers.get(label) != variable:
                    unfiltered.append(f"{q.where}: {s.name} not {label}=~{variable}")
    assert unfiltered == []
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert set(variables) == {"customer", "version"}
    for v in variables.values():
        assert (v["multi"], v["includeAll"], v["allValue"]) == (True, True, ".*")
    assert board["__inputs"][0]["pluginId"] == "prometheus"
    assert board["schemaVersion"] == 39


def threshold_values(panel: dict[str, Any]) -> list[float]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [s["value"] for s in steps if s["value"] is not None]


def test_thresholds_are_the_figures_own() -> None:
    """The coloured levels are the registry's thresholds, in the panels' base units."""
    by_title = {p["title"]: p for p in all_panels(dashboard()["panels"])}
    ms = 1 / 1000
    assert threshold_values(by_title["Render p95"]) == [figure_named("render.message_time").threshold * ms]
    assert threshold_values(by_title["API p95"]) == [figure_named("api.latency").threshold * ms]
    assert threshold_values(by_title["Scroll FPS"]) == [figure_named("scroll.fps").threshold]
    persistence = figure_named("persistence.success_rate").rule
    assert persistence is not None
    assert threshold_values(by_title["Persistence success rate"]) == sorted(persistence.levels.values())
    api_errors = figure_named("api.error_rate").rule
    assert api_errors is not None
    assert threshold_values(by_title["API error rate"]) == sorted(api_errors.levels.values())
    for title in ("Overall health", "Health by category", "Customer health"):
        assert threshold_values(by_title[title]) == [DEGRADED, HEALTHY]


# -- the panels over the scrape, evaluated by promtool -----------------------------------------


def input_series(metrics_text: str) -> list[dict[str, str]]:
    """The scrape as promtool test input: counters grow by their value each minute, gauges hold."""
    series = []
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            labels = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(sample.labels.items()))
            values = f"{sample.value:g}x10" if family.type == "gauge" else f"0+{sample.value:g}x10"
            series.append({"series": f"{sample.name}{{{labels}}}", "values": values})
    return series


def evaluate(
    tmp_path: Path, metrics_text: str, tests: list[dict[str, Any]]
) -> subprocess.CompletedProcess[str]:
    rules = tmp_path / "empty.rules.yml"
    rules.write_text(yaml.safe_dump({"groups": []}))
    unit = {
        "rule_files": [rules.name],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": input_series(metrics_text), "promql_expr_test": tests}],
    }
    path = tmp_path / "panels.test.yml"
    path.write_text(yaml.safe_dump(unit, sort_keys=False))
    return run_promtool("test", "rules", path)


def test_every_panel_shows_data_from_a_real_scrape(tmp_path: Path, metrics_text: str) -> None:
    tests = [
        {
            "expr": f"clamp_max(count(({substitute(q.expr)}) >= 0), 1)",
            "eval_time": "10m",
            "exp_samples": [{"labels": "{}", "value": 1}],
        }
        for q in queries(dashboard())
    ]
    evaluated = evaluate(tmp_path, metrics_text, tests)
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr


def panel_expr(title: str, **chosen: str) -> str:
    (panel,) = [p for p in all_panels(dashboard()["panels"]) if p["title"] == title]
    return substitute(panel["targets"][0]["expr"], **chosen)


ACME = ("acme", "2.4.1")
GLOBEX = ("globex", "3.0.0")  # sent one event of each type: its save failed, its API call did not


@pytest.mark.parametrize(
    ("title", "series", "expected"),
    [
        pytest.param("Renders within the 16 ms budget", ACME, 75, id="3-of-4-renders-within-16ms"),
        pytest.param("Persistence success rate", ACME, 75, id="3-of-4-saves-succeed"),
        pytest.param("API error rate", ACME, 25, id="1-of-4-calls-fails"),
        # no success counter has a globex series yet: 0 %, not "no data", when every save failed
        pytest.param("Persistence success rate", GLOBEX, 0, id="every-save-failed-is-0-not-no-data"),
        pytest.param("API error rate", GLOBEX, 0, id="no-call-failed-is-0-not-no-data"),
    ],
)
def test_shares_are_the_hand_counted_ones(
    tmp_path: Path, metrics_text: str, title: str, series: tuple[str, str], expected: float
) -> None:
    customer, version = series
    # one customer and version chosen in the pickers: Grafana escapes their regex characters
    expr = panel_expr(title, customer=customer, version=version.replace(".", r"\\."))
    test = {
        "expr": f"round({expr}, 0.001)",  # a rate over a rate is exact only to the last bit
        "eval_time": "10m",
        "exp_samples": [
            {"labels": f'{{customer_id="{customer}", widget_version="{version}"}}', "value": expected}
        ],
    }
    evaluated = evaluate(tmp_path, metrics_text, [test])
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
