"""Assembles the FastAPI app: routers, middleware, error handler and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ingest_api.cors import RouteCORSMiddleware
from ingest_api.errors import install_error_handler
from ingest_api.openapi import ingest_openapi
from ingest_api.request_guard import RequestGuard
from ingest_api.routes import (
    access,
    alerts,
    backup,
    baseline,
    customers,
    dimensions,
    events_export,
    figures,
    ingest,
    lake,
    metrics,
    samples,
    sdk,
    summary,
    system,
    timeseries,
)
from ingest_api.runtime import Runtime
from ingest_api.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The widget-monitor API over the store in `settings.data_dir`."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = await Runtime.start(settings)
        try:
            yield
        finally:
            await app.state.runtime.stop()

    app = FastAPI(
        title="widget-monitor",
        summary="Performance monitoring for embedded chat widgets",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(
        RequestGuard, allowed_hosts=settings.allowed_hosts, max_request_bytes=settings.max_request_bytes
    )
    app.add_middleware(RouteCORSMiddleware, read_origins=settings.cors_origins)
    install_error_handler(app)
    ingest.add_plain_route(app)  # first: widgets' POSTs are most requests, matched soonest
    app.include_router(ingest.router)
    app.include_router(system.router)
    app.include_router(summary.router)
    app.include_router(lake.router)
    app.include_router(customers.router)
    app.include_router(backup.router)
    app.include_router(alerts.router)
    app.include_router(baseline.router)
    app.include_router(timeseries.router)
    app.include_router(figures.router)
    app.include_router(samples.router)
    app.include_router(events_export.router)
    app.include_router(dimensions.router)
    app.include_router(sdk.router)
    app.include_router(access.router)
    app.include_router(metrics.router)
    app.openapi = lambda: ingest_openapi(app, max_events=settings.max_batch_events)
    return app
