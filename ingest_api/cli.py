"""The `widget-monitor` command: serve the API (and, later, the dashboard and demo data)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from ingest_api.settings import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ingest_api.main import create_app

    overrides = {"alerts_config": args.alerts_config} if args.alerts_config else {}
    settings = Settings(data_dir=args.data_dir, host=args.host, port=args.port, **overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        access_log=args.access_log,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="widget-monitor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the ingest and summary API")
    serve.add_argument("--data-dir", type=Path, default=Path("data"), help="default: ./data")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument("--alerts-config", type=Path, help="alerting config, JSON or TOML (see README)")
    serve.set_defaults(handler=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
