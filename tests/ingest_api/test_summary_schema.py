"""The OpenAPI document describes the summary's answer exactly: every answer validates, and
every field an answer holds is in the schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from tests.support.events import FULL_METRICS, event

WIDGET = "/api/monitoring/widget"


def validator(client: TestClient, name: str) -> jsonschema.Draft202012Validator:
    document = client.get("/openapi.json").json()
    root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(root)


def undocumented(
    answer: Any, schema: dict[str, Any], components: dict[str, Any], path: str = ""
) -> list[str]:
    """The paths in `answer` that the schema has no property for."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if not isinstance(answer, dict) or "properties" not in schema:
        return []
    missing = []
    for key, value in answer.items():
        if key in schema["properties"]:
            missing += undocumented(value, schema["properties"][key], components, f"{path}.{key}")
        elif "additionalProperties" not in schema:
            missing.append(f"{path}.{key}")
    return missing


@pytest.mark.parametrize(
    "params",
    [{}, {"customerId": "acme"}, {"alerts": "false"}, {"telemetry": "false"}],
    ids=["all", "acme", "no-alerts", "no-telemetry"],
)
def test_every_summary_answer_is_what_the_schema_says(client: TestClient, params: dict[str, str]) -> None:
    empty = client.get(WIDGET, params=params).json()  # nothing stored yet: nulls and zeros
    assert (
        client.post(WIDGET, json=[event(kind, customerId="acme") for kind in FULL_METRICS]).status_code == 200
    )
    full = client.get(WIDGET, params=params).json()
    check = validator(client, "WidgetSummary")
    components = client.get("/openapi.json").json()["components"]["schemas"]
    for answer in (empty, full):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(answer)]
        assert errors == []
        assert undocumented(answer, components["WidgetSummary"], components) == []
    assert full["performance"]["renders"]["count"] == 1  # the data did land
    assert ("telemetry" in full) == (params.get("telemetry") != "false")  # optional in the schema


def test_the_export_answer_is_what_the_schema_says(client: TestClient) -> None:
    assert (
        client.post(WIDGET, json=[event(kind, customerId="acme") for kind in FULL_METRICS]).status_code == 200
    )
    exported = client.get(WIDGET, params={"format": "export"}).json()
    assert list(validator(client, "WidgetSummaryExport").iter_errors(exported)) == []
    assert any(m["name"] == "render.message_time" for m in exported["metrics"])
