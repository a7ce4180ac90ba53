"""/openapi.json describes the ingest body (the nine event types, one or a batch) and is valid OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from analytics.ingest.events import EVENT_TYPES
from ingest_api.routes.ingest import PATH
from tests.support.events import FULL_METRICS, event


def body_validator(document: dict[str, Any], media: str) -> Draft202012Validator:
    """A JSON Schema validator of the documented ingest body, its `$ref`s resolved in `components`."""
    schema = document["paths"][PATH]["post"]["requestBody"]["content"][media]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


def test_the_document_is_valid_openapi_and_cached(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    validate(document)  # raises on an invalid document
    assert client.app.openapi() is client.app.openapi_schema  # type: ignore[attr-defined]
    assert client.get("/openapi.json").json() == document
    assert "/api/monitoring/widget/samples" in document["paths"]  # FastAPI's own routes kept


def test_the_ingest_operation_documents_its_key_and_media_types(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][PATH]["post"]

    parameters = {(p["in"], p["name"]): p for p in operation["parameters"]}
    assert set(parameters) == {("query", "key"), ("header", "X-Widget-Monitor-Key")}
    assert all(not p["required"] and p["description"] for p in parameters.values())
    assert set(operation["requestBody"]["content"]) == {"application/json", "text/plain"}
    assert {"200", "400", "413", "415", "422", "503"} <= set(operation["responses"])


@pytest.mark.parametrize("media", ["application/json", "text/plain"])
@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_a_real_event_and_batch_match_the_documented_body(client: TestClient, media: str, kind: str) -> None:
    validator = body_validator(client.get("/openapi.json").json(), media)

    assert validator.is_valid(event(kind))
    assert validator.is_valid([event(k) for k in FULL_METRICS])
    assert validator.is_valid([{"type": kind, "metric": {**event(kind)["metric"], "newerField": 1}}])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({**event("render"), "type": "renders"}, id="unknown type"),
        pytest.param({"metric": event("render")["metric"]}, id="no type"),
        pytest.param({"type": "render", "metric": FULL_METRICS["scroll"]}, id="another type's metric"),
        pytest.param(event("render", renderTime="12"), id="number as a string"),
        pytest.param(event("memory", usedJSHeapSize=-1), id="below the bound"),
        pytest.param(event("api", sessionId="a\nb"), id="control character in an identifier"),
        pytest.param([], id="empty batch"),
        pytest.param([event("render")] * 1001, id="batch over 1000"),
    ],
)
def test_a_wrong_body_does_not_match_it(client: TestClient, body: Any) -> None:
    assert not body_validator(client.get("/openapi.json").json(), "application/json").is_valid(body)
