"""Schemathesis against the app's own OpenAPI document: no operation answers with a 5xx.

Every operation, ingest included (its body is documented, ingest_api.openapi), gets
bounded examples generated from the document, sent in process to an app in open mode
on loopback (Host 127.0.0.1, so no credential is needed). A 4xx passes: a refusal is
the right answer to most fuzzed requests (a state change without JSON is a 415).
Schemathesis sends a text/plain body as JSON text, which is what ingest takes there.
"""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from ingest_api.main import create_app
from ingest_api.routes.ingest import PATH as INGEST_PATH
from ingest_api.settings import Settings
from tests.support.server import LOCAL

HOST = LOCAL.removeprefix("http://")


@pytest.fixture
def no_outbound(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name is looked up but loopback's: a fuzzed alerting config may name any webhook host."""
    lookup = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("localhost", "127.0.0.1", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "name lookups are off in the fuzz tests")
        return lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


# Schemathesis's own bounds: examples per operation, and no coverage phase for ingest, whose
# body schema it would otherwise walk in thousands of cases (tests/fuzz/test_ingest_http_fuzz.py
# fuzzes that body apart).
CONFIG = schemathesis.Config.from_str(
    f"""
    base-url = "{LOCAL}"

    [generation]
    max-examples = 10

    [[operations]]
    include-name = "POST {INGEST_PATH}"
    generation.max-examples = 60
    phases.coverage.enabled = false
    """
)
# Loaded at collection: schemathesis.pytest.from_fixture (4.32) reads `Item._nodeid`, which
# pytest 9 no longer has. Schemathesis starts the app's lifespan for each test and ends it after.
_DATA = tempfile.TemporaryDirectory(prefix="widget-monitor-schemathesis-")
APP = create_app(Settings(data_dir=Path(_DATA.name) / "data", summary_cache_seconds=0, decoder_processes=0))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG, headers={"Host": HOST})


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.usefixtures("no_outbound")
def test_no_operation_answers_with_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
