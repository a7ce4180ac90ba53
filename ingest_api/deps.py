"""Dependencies shared by the routers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from pydantic import AfterValidator

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


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(moment: datetime) -> datetime:
    """A query time between 2000 and 2100 (UTC), so window arithmetic cannot overflow."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if not EARLIEST <= utc < LATEST:
        raise ValueError("must be between 2000-01-01 and 2100-01-01 (UTC)")
    return moment


# A datetime query parameter (`from`, `to`, `end`): ISO 8601, within a plausible range.
QueryMoment = Annotated[datetime, AfterValidator(_plausible)]
