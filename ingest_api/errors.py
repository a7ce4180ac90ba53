"""The one exception handler that turns domain errors into JSON responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from analytics.errors import MonitorError


async def monitor_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MonitorError)
    return JSONResponse(exc.to_dict(), status_code=exc.status)


def install_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(MonitorError, monitor_error_handler)
