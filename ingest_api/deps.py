"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from analytics.alerts.system import AlertingSystem
from analytics.errors import StoreUnavailable
from ingest_api.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_alerting_system(request: Request) -> AlertingSystem:
    runtime: Runtime = request.app.state.runtime
    if runtime.alerts is None:
        raise StoreUnavailable("alerting is not running")
    return runtime.alerts.system


AlertsDep = Annotated[AlertingSystem, Depends(get_alerting_system)]
