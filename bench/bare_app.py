"""The benchmark's reference: a bare FastAPI endpoint that reads the body and answers a small JSON.

It does what any FastAPI ingest endpoint must do at the least (read the request body,
answer JSON) and nothing else: no validation, no storage. Served with the same uvicorn
options as `widget-monitor serve`, so the two differ only in the work behind the route.

    python bench/bare_app.py --port 8001
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI, Request

from widget_monitor.cli import serve_app

app = FastAPI(title="bare reference endpoint")


@app.post("/api/monitoring/widget")
async def receive(request: Request) -> dict[str, int]:
    """Read the body and answer how many bytes arrived."""
    body = await request.body()
    return {"received": len(body)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    serve_app(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
