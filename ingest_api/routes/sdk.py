"""GET /sdk/widget-monitor.js (the browser SDK) and GET /demo (a demo chat widget that uses it)."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from analytics.errors import NotFound
from sdk import DEMO_DIR, SDK_SCRIPT

router = APIRouter(tags=["sdk"])

JS_MEDIA = "text/javascript; charset=utf-8"
# Widgets embed the script from other origins: let them time it (Timing-Allow-Origin makes
# its size visible to their bundle metrics) and load it under COEP.
_CROSS_ORIGIN = {"Timing-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}
# Five minutes fresh, then revalidated by ETag; a day of stale-while-revalidate keeps
# widgets loading fast while a new version rolls out.
SCRIPT_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"

# An ingest key for the demo's widget to send (`/demo?key=wmk_...`), when the server enforces keys.
DemoKey = Annotated[str, Query(pattern=r"^[\w.-]{0,128}$", description="an ingest key for the widget")]

_DEMO_ASSETS = {"demo.js": JS_MEDIA, "demo.css": "text/css; charset=utf-8"}
_DEMO_PAGES = {"home": "Home", "pricing": "Pricing", "docs": "Docs"}


@dataclass(frozen=True, slots=True)
class _StaticFile:
    body: bytes
    etag: str
    mtime_ns: int


_files: dict[Path, _StaticFile] = {}


def _read(path: Path) -> _StaticFile:
    """The file's bytes and ETag, re-read only when it changed on disk."""
    mtime_ns = path.stat().st_mtime_ns
    cached = _files.get(path)
    if cached is None or cached.mtime_ns != mtime_ns:
        body = path.read_bytes()
        cached = _StaticFile(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', mtime_ns)
        _files[path] = cached
    return cached


def _static(request: Request, path: Path, media_type: str, cache_control: str) -> Response:
    static = _read(path)
    headers = {"ETag": static.etag, "Cache-Control": cache_control, **_CROSS_ORIGIN}
    if static.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(static.body, media_type=media_type, headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


@router.get("/sdk/widget-monitor.js", response_class=Response)
async def sdk_script(request: Request) -> Response:
    """The browser SDK: one dependency-free script, cached 5 min and revalidated by ETag."""
    return _static(request, SDK_SCRIPT, JS_MEDIA, SCRIPT_CACHE_CONTROL)


@router.get("/demo/assets/{name}", response_class=Response)
async def demo_asset(request: Request, name: str) -> Response:
    """The demo widget's script and stylesheet."""
    media_type = _DEMO_ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no demo asset {name!r}")
    return _static(request, DEMO_DIR / name, media_type, "public, max-age=60")


@router.get("/demo", response_class=Response)
async def demo_home(
    customer_id: Annotated[str, Query(alias="customerId", pattern=r"^[\w.-]{1,64}$")] = "demo",
    enabled: bool = True,
    sample_rate: Annotated[float, Query(alias="sampleRate", ge=0, le=1)] = 1.0,
    flush_interval_ms: Annotated[int, Query(alias="flushIntervalMs", ge=100, le=600_000)] = 2000,
    key: DemoKey = "",
) -> Response:
    """A demo chat widget on a host page, monitored by the SDK (settings from the query)."""
    return _demo_page("home", customer_id, enabled, sample_rate, flush_interval_ms, key)


@router.get("/demo/{page}", response_class=Response)
async def demo_page(
    page: str,
    customer_id: Annotated[str, Query(alias="customerId", pattern=r"^[\w.-]{1,64}$")] = "demo",
    enabled: bool = True,
    sample_rate: Annotated[float, Query(alias="sampleRate", ge=0, le=1)] = 1.0,
    flush_interval_ms: Annotated[int, Query(alias="flushIntervalMs", ge=100, le=600_000)] = 2000,
    key: DemoKey = "",
) -> Response:
    """Another page of the demo site, to switch to with the conversation kept."""
    if page not in _DEMO_PAGES:
        raise NotFound(f"no demo page {page!r}: try {', '.join(_DEMO_PAGES)}")
    return _demo_page(page, customer_id, enabled, sample_rate, flush_interval_ms, key)


def _demo_page(
    page: str, customer_id: str, enabled: bool, sample_rate: float, flush_ms: int, key: str
) -> Response:
    values = {
        "key": key,
        "page": page,
        "page_title": _DEMO_PAGES[page],
        "customer_id": customer_id,
        "enabled": "true" if enabled else "false",
        "sample_rate": repr(sample_rate),
        "flush_interval_ms": str(flush_ms),
    }
    text = _read(DEMO_DIR / "index.html").body.decode()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", html.escape(value, quote=True))
    return Response(text, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})
