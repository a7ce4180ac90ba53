"""The exception handlers: domain errors and bad query parameters become JSON 4xx answers."""

from __future__ import annotations

import logging

import duckdb
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from analytics.errors import InvalidQuery, MonitorError, StoreUnavailable

log = logging.getLogger(__name__)


async def monitor_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MonitorError)
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=exc.headers())


async def invalid_parameters_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 for parameters, in the same shape as every other error (plus `detail`)."""
    assert isinstance(exc, RequestValidationError)
    problems = [f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()]
    return JSONResponse(
        {
            "error": "invalid_parameters",
            "message": "; ".join(problems),
            "detail": jsonable_encoder(exc.errors()),
        },
        status_code=422,
    )


_HTTP_ERRORS = {404: "not_found", 405: "method_not_allowed"}


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The router's own answers (no such route, a method it does not take) in the same shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"there is no {request.url.path} (the API's routes: /docs)"
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"{request.url.path} does not take {request.method} (Allow: {allowed})"
    else:
        message = str(exc.detail)
    return JSONResponse(
        {"error": _HTTP_ERRORS.get(exc.status_code, "http_error"), "message": message},
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def store_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A DuckDB failure under a read (e.g. a database invalidated by a full disk) is a 503, not a 500;
    the details go to the log, not to the caller.

    A read that needs more memory than DuckDB may use (an exact percentile over tens of
    millions of values) asked for too much: a 422 that says what to ask instead. A write
    stays a 503: nothing was stored, and the same batch will fit once the reads are done.
    """
    if isinstance(exc, duckdb.OutOfMemoryException) and request.method in ("GET", "HEAD"):
        # (the first line: DuckDB's message goes on with advice and a link)
        log.warning("a read over DuckDB's memory limit on %s: %s", request.url.path, str(exc).splitlines()[0])
        limit = request.app.state.runtime.settings.duckdb_memory_limit
        return await monitor_error_handler(
            request,
            InvalidQuery(
                f"this answer needs more memory than the store may use ({limit}, "
                "WIDGET_MONITOR_DUCKDB_MEMORY_LIMIT): ask for a shorter window or range, or a "
                "time series without exact=true (ranges over 24 h come from the rollups)"
            ),
        )
    log.error("store error on %s %s: %s", request.method, request.url.path, exc)
    return await monitor_error_handler(request, StoreUnavailable("the store cannot answer right now"))


def install_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(MonitorError, monitor_error_handler)
    app.add_exception_handler(duckdb.Error, store_error_handler)
    app.add_exception_handler(RequestValidationError, invalid_parameters_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
