"""The Prometheus text format: families checked when declared, label values escaped, read back whole."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from analytics.queries.metrics_exposition import Family, render

HOSTILE = ["plain", 'say "hi"', "back\\slash", "two\nlines", "ünï 🚀", "end\\", '\\"', '{x="1"} 2']


def test_hostile_label_values_read_back_unchanged_by_the_reference_parser() -> None:
    family = Family("app_hits_total", "counter", "Hits.", ("customer_id",))
    text = render([(family, [((value,), i) for i, value in enumerate(HOSTILE)])])
    [parsed] = text_string_to_metric_families(text)
    assert parsed.type == "counter"
    assert [(s.labels["customer_id"], s.value) for s in parsed.samples] == [
        (value, float(i)) for i, value in enumerate(HOSTILE)
    ]
    assert len(text.splitlines()) == 2 + len(HOSTILE)  # a newline in a value stays escaped


def test_every_family_has_help_and_type_even_without_samples() -> None:
    busy = Family("app_backlog_bytes", "gauge", "Bytes waiting.\nSecond line \\ here.")
    idle = Family("app_errors_total", "counter", "Errors.", ("reason",))
    text = render([(busy, [((), 12.5)]), (idle, [])])
    assert text == (
        "# HELP app_backlog_bytes Bytes waiting.\\nSecond line \\\\ here.\n"
        "# TYPE app_backlog_bytes gauge\n"
        "app_backlog_bytes 12.5\n"
        "# HELP app_errors_total Errors.\n"
        "# TYPE app_errors_total counter\n"
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [
        pytest.param(7, "7", id="int"),
        pytest.param(0.1, "0.1", id="float"),
        pytest.param(float("inf"), "+Inf", id="inf"),
        pytest.param(float("-inf"), "-Inf", id="minus-inf"),
        pytest.param(float("nan"), "NaN", id="nan"),
        pytest.param(1e21, "1e+21", id="big"),
    ],
)
def test_values(value: float, written: str) -> None:
    text = render([(Family("app_ratio", "gauge", "A ratio."), [((), value)])])
    assert text.splitlines()[-1] == f"app_ratio {written}"


@pytest.mark.parametrize(
    ("name", "kind", "labels", "problem"),
    [
        pytest.param("app_hits", "counter", (), "ends in _total", id="counter-without-total"),
        pytest.param("app_size_total", "gauge", (), "ends in _total", id="gauge-with-total"),
        pytest.param("app-hits_total", "counter", (), "not a Prometheus metric name", id="dash"),
        pytest.param("9hits_total", "counter", (), "not a Prometheus metric name", id="digit-first"),
        pytest.param("app_hits_total", "counter", ("key-id",), "not a label name", id="label-dash"),
        pytest.param("app_hits_total", "counter", ("__name__",), "not a label name", id="reserved"),
        pytest.param("app_hits_total", "counter", ("a", "a"), "repeats a label", id="repeated"),
    ],
)
def test_a_family_against_the_conventions_is_refused_when_declared(
    name: str, kind: str, labels: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        Family(name, kind, "Help.", labels)  # type: ignore[arg-type]


def test_a_family_without_help_is_refused() -> None:
    with pytest.raises(ValueError, match="no help text"):
        Family("app_hits_total", "counter", " ")


def test_a_sample_with_the_wrong_number_of_label_values_is_refused() -> None:
    family = Family("app_hits_total", "counter", "Hits.", ("key_id", "reason"))
    with pytest.raises(ValueError, match="1 label values for 2 labels"):
        render([(family, [(("k1",), 1)])])
